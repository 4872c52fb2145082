// The checks (checks.ts) as `npm run verify` runs them, in Node: the same
// queries, the same judgements, the same deadline rules as the Job's script.
import { Check, GrafanaCheck, RulesCheck, Sample, Timing, describeFailure, grafanaAnswerShown, judge, judgeGrafana, judgeRules, labelValues } from "./checks";
/** How long one answer may take, and how a timeout reads: the request timeout or the overall deadline, whichever is nearer. */
export interface AnswerLimit {
    seconds: number;
    /** "within 10s" or "before the deadline": says which limit cut the wait, independent of how much of it was left. */
    description: string;
}

/** A request's time limit: AbortSignal.timeout takes whole milliseconds, and what is left before the deadline seldom is one. */
function abortAfter(limit: AnswerLimit): AbortSignal {
    return AbortSignal.timeout(Math.ceil(limit.seconds * 1000));
}

/** fetch hides why behind "fetch failed": the cause says ECONNREFUSED, ENOTFOUND, bad port... */
function whyNoAnswer(error: unknown, limit: AnswerLimit): string {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return (error as Error).name === "TimeoutError" ? `no answer ${limit.description}` : (cause?.code ?? cause?.message ?? (error as Error).message);
}

/** Asks the Query Frontend one instant query, waiting at most `limit.seconds`; rejects when there is no good answer. */
export type Ask = (query: string, dedup: boolean, limit: AnswerLimit) => Promise<Sample[]>;

export function queryFrontend(baseUrl: string): Ask {
    const base = baseUrl.replace(/\/+$/, "");
    return async (query, dedup, limit) => {
        const url = `${base}/api/v1/query?query=${encodeURIComponent(query)}&dedup=${dedup}`;
        let response: Response;
        try {
            response = await fetch(url, { signal: abortAfter(limit) });
        } catch (error) {
            throw new Error(`cannot query ${base}: ${whyNoAnswer(error, limit)}`, { cause: error });
        }
        const text = await response.text();
        let answer: { status?: string; error?: string; data?: { resultType?: string; result?: Sample[] } };
        try {
            answer = JSON.parse(text);
        } catch {
            throw new Error(`${base} answered HTTP ${response.status} with something other than the Prometheus API: ${text.slice(0, 120)}`);
        }
        if (answer.status !== "success") {
            throw new Error(`${base} answered HTTP ${response.status}: ${answer.error ?? text.slice(0, 120)}`);
        }
        if (answer.data?.resultType !== "vector" || !Array.isArray(answer.data.result)) {
            throw new Error(`${base} answered a ${answer.data?.resultType} where an instant vector was expected`);
        }
        return answer.data.result;
    };
}

export interface Outcome {
    check: Check | RulesCheck | GrafanaCheck;
    ok: boolean;
    seen: string[];
    /** Why the check could not even be asked. */
    error?: string;
    detail: string;
}

const notAsked = "not asked: the deadline had passed";

/** How long the next answer may take: the request timeout or what is left before the deadline; undefined once it has passed. */
function answerLimit(deadline: number, requestTimeoutSeconds: number): AnswerLimit | undefined {
    const remainingSeconds = (deadline - Date.now()) / 1000;
    if (remainingSeconds <= 0) {
        return undefined;
    }
    return remainingSeconds < requestTimeoutSeconds
        ? { seconds: remainingSeconds, description: "before the deadline" }
        : { seconds: requestTimeoutSeconds, description: `within ${requestTimeoutSeconds}s` };
}

/**
 * One round of checks, in turn: a check whose turn comes after the deadline
 * is not asked, and one that cannot be asked fails with why.
 */
async function runRound<C extends Check | RulesCheck | GrafanaCheck>(
    checks: C[],
    deadline: number,
    requestTimeoutSeconds: number,
    askAndJudge: (check: C, limit: AnswerLimit) => Promise<{ ok: boolean; seen: string[]; detail: string }>,
): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const check of checks) {
        const limit = answerLimit(deadline, requestTimeoutSeconds);
        if (limit === undefined) {
            outcomes.push({ check, ok: false, seen: [], error: notAsked, detail: `${check.fails}; ${notAsked}` });
            continue;
        }
        try {
            outcomes.push({ check, ...(await askAndJudge(check, limit)) });
        } catch (error) {
            const message = (error as Error).message;
            outcomes.push({ check, ok: false, seen: [], error: message, detail: `${check.fails}; ${message}` });
        }
    }
    return outcomes;
}

/** One round of the frontend's checks; a failed one is diagnosed with a second query. */
export function runChecks(checks: Check[], ask: Ask, deadline: number, requestTimeoutSeconds: number): Promise<Outcome[]> {
    return runRound(checks, deadline, requestTimeoutSeconds, async (check, limit) => {
        const { ok, seen } = judge(check.expect, await ask(check.query, check.dedup, limit));
        let diagnosed: string[] | undefined;
        if (!ok && check.diagnosis) {
            diagnosed = await ask(check.diagnosis.query, check.diagnosis.dedup, limit).then(
                (samples) => labelValues(samples, check.diagnosis!.label),
                () => undefined,
            );
        }
        return { ok, seen, detail: ok ? check.passes : describeFailure(check, seen, diagnosed) };
    });
}

/** Asks Grafana what one check needs, waiting at most `limit.seconds`; resolves with its answer's text, rejects unless it answered 2xx. */
export type GrafanaAsk = (check: GrafanaCheck, limit: AnswerLimit) => Promise<string>;

export function grafanaApi(baseUrl: string, user: string, password: string): GrafanaAsk {
    const base = baseUrl.replace(/\/+$/, "");
    const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    return async (check, limit) => {
        let response: Response;
        try {
            response = await fetch(`${base}/${check.path}`, {
                method: check.body === undefined ? "GET" : "POST",
                headers: { authorization, ...(check.body === undefined ? {} : { "content-type": "application/json" }) },
                body: check.body,
                signal: abortAfter(limit),
            });
        } catch (error) {
            throw new Error(`cannot reach Grafana at ${base}: ${whyNoAnswer(error, limit)}`, { cause: error });
        }
        const text = await response.text();
        if (!response.ok) {
            throw new Error(`Grafana answered ${check.path} with HTTP ${response.status}: ${text.slice(0, grafanaAnswerShown)}`);
        }
        return text;
    };
}

/** Asks the frontend for a rules check's path, waiting at most `limit.seconds`; resolves with its answer's text, rejects unless it answered 2xx. */
export type RulesAsk = (check: RulesCheck, limit: AnswerLimit) => Promise<string>;

export function frontendRules(baseUrl: string): RulesAsk {
    const base = baseUrl.replace(/\/+$/, "");
    return async (check, limit) => {
        let response: Response;
        try {
            response = await fetch(`${base}/${check.path}`, { signal: abortAfter(limit) });
        } catch (error) {
            throw new Error(`cannot ask ${base}/${check.path}: ${whyNoAnswer(error, limit)}`, { cause: error });
        }
        const text = await response.text();
        if (!response.ok) {
            throw new Error(`${base} answered ${check.path} with HTTP ${response.status}: ${text.slice(0, 120)}`);
        }
        return text;
    };
}

/** One round of the rules API's checks. */
function runRulesChecks(checks: RulesCheck[], ask: RulesAsk, deadline: number, requestTimeoutSeconds: number): Promise<Outcome[]> {
    return runRound(checks, deadline, requestTimeoutSeconds, async (check, limit) => {
        const { ok, seen } = judgeRules(check.expect, await ask(check, limit));
        return { ok, seen, detail: ok ? check.passes : `${check.fails}; saw: ${seen.join(" ") || "no group"}` };
    });
}

/** One round of the Grafana checks. */
function runGrafanaChecks(checks: GrafanaCheck[], ask: GrafanaAsk, deadline: number, requestTimeoutSeconds: number): Promise<Outcome[]> {
    return runRound(checks, deadline, requestTimeoutSeconds, async (check, limit) => {
        const { ok, seen } = judgeGrafana(check.expect, await ask(check, limit));
        return { ok, seen, detail: ok ? check.passes : `${check.fails}; saw: ${seen.join(" ") || "nothing"}` };
    });
}

/** What one verification asks: the frontend's checks, the rules API's when the Ruler runs, and Grafana's when it runs. */
interface Provers {
    checks: Check[];
    ask: Ask;
    rules?: { checks: RulesCheck[]; ask: RulesAsk };
    grafana?: { checks: GrafanaCheck[]; ask: GrafanaAsk };
}

/** Runs every check in rounds until all pass, the deadline passes or maxAttempts rounds were asked; returns the last round. */
export async function verifyUntilDeadline(
    { checks, ask, rules, grafana }: Provers,
    timing: Timing,
    maxAttempts = Infinity,
): Promise<{ attempts: number; outcomes: Outcome[] }> {
    const deadline = Date.now() + timing.deadlineSeconds * 1000;
    let previous: Outcome[] | undefined;
    for (let attempts = 1; ; attempts++) {
        const round = [
            ...(await runChecks(checks, ask, deadline, timing.requestTimeoutSeconds)),
            ...(rules === undefined ? [] : await runRulesChecks(rules.checks, rules.ask, deadline, timing.requestTimeoutSeconds)),
            ...(grafana === undefined ? [] : await runGrafanaChecks(grafana.checks, grafana.ask, deadline, timing.requestTimeoutSeconds)),
        ];
        // What the deadline cut off this round, the round before still knows.
        const outcomes = round.map((outcome, i) => (outcome.error === notAsked && previous ? previous[i] : outcome));
        if (outcomes.every((outcome) => outcome.ok) || Date.now() >= deadline || attempts >= maxAttempts) {
            return { attempts, outcomes };
        }
        previous = outcomes;
        await new Promise((resolve) => setTimeout(resolve, Math.min(timing.intervalSeconds * 1000, deadline - Date.now())));
    }
}
