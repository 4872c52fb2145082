// Mocha's spec reporter, closed by a plain count line that CI can read.
const Mocha = require("mocha");

class SpecWithCounts extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const { passes, failures, pending } = runner.stats;
            console.log(`mocha: ${passes} passed, ${failures} failed, ${pending} skipped`);
        });
    }
}

module.exports = SpecWithCounts;
