// A stand-in for Grafana 13 on loopback, in front of a (fake) Query Frontend,
// answering the three API calls the verification makes the way Grafana does:
// - GET /api/health: no auth, pretty-printed JSON with "database": "ok"
//   (Grafana pkg/api/health.go encodes it with EncodePretty);
// - everything else needs basic auth as the admin, else 401 with the
//   authentication error's public part and the trace ID, keys sorted as Go
//   writes a map (pkg/services/contexthandler/model/model.go,
//   writeErrOrFallback; there is no tag v13.2.0 in the source index, so the
//   function, not a line):
//   {"message":"Invalid username or password","messageId":"password-auth.failed","statusCode":401,"traceID":""};
// - GET /api/datasources/uid/<uid>/health: Grafana's Prometheus health check
//   asks the data source `1+1` as an instant query and answers
//   {"status":"OK","message":"Successfully queried the Prometheus API."},
//   or HTTP 400 with status ERROR;
// - POST /api/ds/query: each query is asked of the data source as an instant
//   query; every sample becomes a data frame whose value field carries its labels.
//   Any query failing makes the whole answer HTTP 400, the results still in it
//   (pkg/api/ds_query.go, toJsonStreamingResponse). A body that is not a query
//   request is HTTP 400 {"message":"bad request data","traceID":""}, as Grafana
//   answers a request it cannot bind (ds_query.go QueryMetricsV2, then
//   pkg/api/response/response.go Error() and NormalResponse.WriteTo: the
//   message, no "error" in production, and the trace ID).
import * as http from "http";
import { Loopback, listenOnLoopback } from "./loopback";

export interface FakeGrafanaOptions {
    /** The data source's URL: the frontend it asks. */
    datasourceUrl: string;
    datasourceUid: string;
    user: string;
    password: string;
}

export type FakeGrafana = Loopback;

export async function startFakeGrafana(options: FakeGrafanaOptions): Promise<FakeGrafana> {
    const askDatasource = async (query: string, range?: { start: number; end: number; step: number }) => {
        const url =
            range === undefined
                ? `${options.datasourceUrl}/api/v1/query?query=${encodeURIComponent(query)}`
                : `${options.datasourceUrl}/api/v1/query_range?query=${encodeURIComponent(query)}&start=${range.start}&end=${range.end}&step=${range.step}`;
        const response = await fetch(url);
        return (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: any } };
    };
    const server = http.createServer((request, response) => {
        const url = new URL(request.url ?? "/", "http://localhost");
        const answer = (status: number, body: object, pretty = false) => {
            response.writeHead(status, { "Content-Type": "application/json" });
            response.end(pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body));
        };
        let text = "";
        request.on("data", (chunk: Buffer) => (text += chunk));
        request.on(
            "end",
            () =>
                void (async () => {
                    if (url.pathname === "/api/health") {
                        answer(200, { database: "ok", version: "13.2.0", commit: "0000000" }, true);
                        return;
                    }
                    const expected = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString("base64")}`;
                    if (request.headers.authorization !== expected) {
                        answer(401, { message: "Invalid username or password", messageId: "password-auth.failed", statusCode: 401, traceID: "" });
                        return;
                    }
                    try {
                        const health = /^\/api\/datasources\/uid\/([^/]+)\/health$/.exec(url.pathname);
                        if (request.method === "GET" && health) {
                            if (health[1] !== options.datasourceUid) {
                                answer(404, { message: "Data source not found" });
                                return;
                            }
                            const result = await askDatasource("1+1");
                            answer(
                                result.status === "success" ? 200 : 400,
                                result.status === "success"
                                    ? { status: "OK", message: "Successfully queried the Prometheus API." }
                                    : { status: "ERROR", message: `There was an error returned querying the Prometheus API: ${result.error}` },
                            );
                            return;
                        }
                        if (request.method === "POST" && url.pathname === "/api/ds/query") {
                            let queries: { refId: string; expr: string; range?: boolean; intervalMs?: number }[];
                            try {
                                ({ queries } = JSON.parse(text));
                                if (!Array.isArray(queries)) throw new Error("no queries");
                            } catch {
                                answer(400, { message: "bad request data", traceID: "" });
                                return;
                            }
                            const results: Record<string, object> = {};
                            const now = Date.now() / 1000;
                            for (const query of queries) {
                                // "now-15m" to "now", as the dashboards ask; a range query goes to query_range.
                                const answered = await askDatasource(
                                    query.expr,
                                    query.range ? { start: now - 900, end: now, step: (query.intervalMs ?? 30_000) / 1000 } : undefined,
                                );
                                const series =
                                    answered.data?.resultType === "matrix"
                                        ? (answered.data.result as { metric: Record<string, string>; values: [number, string][] }[])
                                        : ((answered.data?.result as { metric: Record<string, string>; value: [number, string] }[]) ?? []).map(
                                              ({ metric, value }) => ({ metric, values: [value] }),
                                          );
                                results[query.refId] =
                                    answered.status !== "success"
                                        ? { status: 400, error: answered.error }
                                        : {
                                              status: 200,
                                              frames: series.map(({ metric, values }) => ({
                                                  schema: {
                                                      refId: query.refId,
                                                      fields: [
                                                          { name: "Time", type: "time" },
                                                          { name: "Value", type: "number", labels: metric },
                                                      ],
                                                  },
                                                  data: { values: [values.map(([time]) => time * 1000), values.map(([, value]) => Number(value))] },
                                              })),
                                          };
                            }
                            answer(Object.values(results).every((result: any) => result.status === 200) ? 200 : 400, { results });
                            return;
                        }
                        answer(404, { message: "Not found" });
                    } catch (error) {
                        answer(500, { message: `Query data error: ${(error as Error).message}` });
                    }
                })(),
        );
    });
    return listenOnLoopback(server);
}
