// Reads git objects (commits, tags, trees) through one long-lived `git cat-file --batch` process, so a
// walk over thousands of commits costs one child process instead of thousands.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { baseGitEnv } from "./git.js";

export type ObjectType = "commit" | "tree" | "blob" | "tag";

export interface GitObject {
  oid: string;
  type: ObjectType;
  data: Buffer;
}

/** Largest object gitward reads: bigger commits or tags are refused rather than buffered. */
export const MAX_OBJECT_BYTES = 64 * 1024 * 1024;

interface Pending {
  oid: string;
  resolve: (obj: GitObject | undefined) => void;
  reject: (err: Error) => void;
}

export class ObjectReader {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private failed: Error | undefined;

  constructor(repoDir: string) {
    this.child = spawn("git", ["cat-file", "--batch"], { cwd: repoDir, env: baseGitEnv() });
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.drain();
    });
    this.child.stderr.resume();
    const fail = (err: Error) => {
      this.failed = err;
      for (const p of this.queue.splice(0)) p.reject(err);
    };
    this.child.on("error", fail);
    this.child.on("exit", (code) => {
      if (this.queue.length > 0) fail(new Error(`git cat-file exited (${String(code)}) in ${repoDir}`));
    });
    this.child.stdin.on("error", fail);
  }

  /** The object with this id, or undefined when the repository does not have it. */
  read(oid: string): Promise<GitObject | undefined> {
    // The id goes to git on its own line: refuse anything but hex so input cannot inject a second request.
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(oid))
      return Promise.reject(new Error(`not an object id: ${oid}`));
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({ oid, resolve, reject });
      this.child.stdin.write(`${oid}\n`);
    });
  }

  /** Reads an object and checks its type; throws when missing or of another type. */
  async readTyped(oid: string, type: ObjectType): Promise<Buffer> {
    const obj = await this.read(oid);
    if (obj === undefined) throw new Error(`object ${oid} is missing from the repository`);
    if (obj.type !== type) throw new Error(`object ${oid} is a ${obj.type}, expected a ${type}`);
    return obj.data;
  }

  close(): void {
    this.child.stdin.end();
  }

  private drain(): void {
    for (;;) {
      const head = this.queue[0];
      if (head === undefined) return;
      const nl = this.buf.indexOf(10);
      if (nl < 0) return;
      const header = this.buf.subarray(0, nl).toString("latin1");
      if (header.endsWith(" missing")) {
        this.buf = this.buf.subarray(nl + 1);
        this.queue.shift();
        head.resolve(undefined);
        continue;
      }
      const [oid, type, sizeText] = header.split(" ");
      const size = Number.parseInt(sizeText ?? "", 10);
      if (oid === undefined || type === undefined || !Number.isFinite(size)) {
        this.queue.shift();
        head.reject(new Error(`unexpected reply from git cat-file: ${header.slice(0, 100)}`));
        return;
      }
      if (size > MAX_OBJECT_BYTES) {
        // Too big to hold: stop this reader; the caller reports the object as refused.
        this.failed = new Error(`object ${oid} is ${size} bytes, over the ${MAX_OBJECT_BYTES}-byte limit`);
        for (const p of this.queue.splice(0)) p.reject(this.failed);
        this.child.kill();
        return;
      }
      if (this.buf.length < nl + 1 + size + 1) return;
      const data = Buffer.from(this.buf.subarray(nl + 1, nl + 1 + size));
      this.buf = this.buf.subarray(nl + 1 + size + 1);
      this.queue.shift();
      head.resolve({ oid, type: type as ObjectType, data });
    }
  }
}
