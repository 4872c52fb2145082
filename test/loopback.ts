// A stand-in's HTTP server on a free loopback port, and a close that does not
// wait for clients to hang up: open connections are cut.
import * as http from "http";
import { AddressInfo, Socket } from "net";

export interface Loopback {
    url: string;
    close(): Promise<void>;
}

export async function listenOnLoopback(server: http.Server, beforeClose: () => void = () => undefined): Promise<Loopback> {
    const sockets = new Set<Socket>();
    server.on("connection", (socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
            new Promise((resolve) => {
                beforeClose();
                sockets.forEach((socket) => socket.destroy());
                server.close(() => resolve());
            }),
    };
}
