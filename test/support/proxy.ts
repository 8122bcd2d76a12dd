// A real HTTP proxy for tests: Debian's tinyproxy on 127.0.0.1 (installed by scripts/setup-tools.sh), with
// its connection log read back so a test can tell which requests went through it (absolute-URL requests
// for http://, CONNECT tunnels for https://) and which did not.
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import path from "node:path";
import { makeTempDir, removeDir } from "./git-exec.js";
import { freePort } from "./git-server.js";
import { until } from "./until.js";

export interface TestProxy {
  readonly url: string;
  /** The request lines the proxy has logged: "GET http://host:port/path" or "CONNECT host:port". */
  requests(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startProxy(): Promise<TestProxy> {
  const dir = await makeTempDir("proxy");
  const port = await freePort();
  const log = path.join(dir, "tinyproxy.log");
  const conf = path.join(dir, "tinyproxy.conf");
  await writeFile(
    conf,
    [
      `Port ${port}`,
      "Listen 127.0.0.1",
      "Timeout 30",
      "LogLevel Connect",
      `LogFile "${log}"`,
      "MaxClients 50",
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("tinyproxy", ["-d", "-c", conf], { stdio: "ignore" });
  const requests = async (): Promise<string[]> => {
    const text = await readFile(log, "utf8").catch(() => "");
    const out: string[] = [];
    for (const m of text.matchAll(/Request \(file descriptor \d+\): (\S+) (\S+) HTTP/g))
      out.push(`${m[1]} ${m[2]}`);
    return out;
  };
  const listens = (): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => {
        resolve(false);
      });
    });
  await until("tinyproxy to listen", listens, 10_000);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await gone;
      }
      await removeDir(dir);
    },
  };
}
