// Reads git objects (commits, tags, trees) through one long-lived `git cat-file --batch` process, so a
// walk over thousands of commits costs one child process instead of thousands. Replies are collected as
// chunks and joined once per object (linear in its size), and an object over the caller's limit is
// skipped as it streams past, never held.
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

/** An object larger than the read allowed: it was not buffered. */
export class ObjectTooLargeError extends Error {
  override readonly name = "ObjectTooLargeError";
  constructor(
    readonly oid: string,
    readonly type: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`${type} ${oid.slice(0, 12)} is ${size} bytes, over the limit of ${limit} bytes`);
  }
}

interface Pending {
  oid: string;
  maxBytes: number;
  resolve: (obj: GitObject | undefined) => void;
  reject: (err: Error) => void;
}

/** The reply being received: its header is parsed, `remaining` bytes (content and "\n") are to come. */
interface Body {
  oid: string;
  type: string;
  size: number;
  remaining: number;
  /** Content chunks kept (empty when the object is skipped for its size). */
  parts: Buffer[];
  skip: boolean;
}

/** Longest reply header: "<64 hex> <type> <size>". */
const MAX_HEADER = 128;

export class ObjectReader {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  /** Bytes received and not yet consumed, outside a body. */
  private pending: Buffer = Buffer.alloc(0);
  private body: Body | undefined;
  private failed: Error | undefined;

  constructor(repoDir: string) {
    this.child = spawn("git", ["cat-file", "--batch"], { cwd: repoDir, env: baseGitEnv() });
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.receive(chunk);
    });
    this.child.stderr.resume();
    this.child.on("error", (err) => {
      this.fail(err);
    });
    this.child.on("exit", (code) => {
      if (this.queue.length > 0) this.fail(new Error(`git cat-file exited (${String(code)}) in ${repoDir}`));
    });
    this.child.stdin.on("error", (err) => {
      this.fail(err);
    });
  }

  /** The object with this id, or undefined when the repository does not have it. */
  read(oid: string, maxBytes = MAX_OBJECT_BYTES): Promise<GitObject | undefined> {
    // The id goes to git on its own line: refuse anything but hex so input cannot inject a second request.
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(oid))
      return Promise.reject(new Error(`not an object id: ${oid}`));
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({ oid, maxBytes: Math.min(maxBytes, MAX_OBJECT_BYTES), resolve, reject });
      this.child.stdin.write(`${oid}\n`);
    });
  }

  /**
   * Reads an object and checks its type; throws when missing or of another type, and throws
   * ObjectTooLargeError (without buffering it) when it is over `maxBytes`.
   */
  async readTyped(oid: string, type: ObjectType, maxBytes = MAX_OBJECT_BYTES): Promise<Buffer> {
    const obj = await this.read(oid, maxBytes);
    if (obj === undefined) throw new Error(`object ${oid} is missing from the repository`);
    if (obj.type !== type) throw new Error(`object ${oid} is a ${obj.type}, expected a ${type}`);
    return obj.data;
  }

  close(): void {
    this.child.stdin.end();
  }

  private fail(err: Error): void {
    this.failed = err;
    for (const p of this.queue.splice(0)) p.reject(err);
  }

  private receive(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      if (this.body !== undefined) {
        data = this.consumeBody(this.body, data);
        continue;
      }
      // Outside a body only a header is pending: short, so joining it with the next chunk is cheap.
      data = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
      this.pending = Buffer.alloc(0);
      const nl = data.indexOf(10);
      if (nl < 0) {
        if (data.length > MAX_HEADER) this.protocolError(data.subarray(0, 100).toString("latin1"));
        else this.pending = Buffer.from(data);
        return;
      }
      if (!this.startReply(data.subarray(0, nl).toString("latin1"))) return;
      data = data.subarray(nl + 1);
    }
  }

  /** Handles one reply header; false when the reader can no longer go on. */
  private startReply(header: string): boolean {
    const head = this.queue[0];
    if (head === undefined) {
      this.protocolError(header);
      return false;
    }
    if (header.endsWith(" missing")) {
      this.queue.shift();
      head.resolve(undefined);
      return true;
    }
    const [oid, type, sizeText] = header.split(" ");
    const size = Number.parseInt(sizeText ?? "", 10);
    if (oid === undefined || type === undefined || !Number.isSafeInteger(size) || size < 0) {
      this.protocolError(header);
      return false;
    }
    this.body = { oid, type, size, remaining: size + 1, parts: [], skip: size > head.maxBytes };
    return true;
  }

  /** Takes what belongs to the current body from `data`; returns the bytes after it. */
  private consumeBody(body: Body, data: Buffer): Buffer {
    const take = Math.min(body.remaining, data.length);
    if (!body.skip) body.parts.push(data.subarray(0, take));
    body.remaining -= take;
    if (body.remaining > 0) return data.subarray(take);
    this.body = undefined;
    const head = this.queue.shift();
    if (head !== undefined) {
      if (body.skip) {
        head.reject(new ObjectTooLargeError(body.oid, body.type, body.size, head.maxBytes));
      } else {
        // One copy of the content (the trailing "\n" dropped): the chunks may share memory with others.
        const data = Buffer.concat(body.parts, body.size + 1).subarray(0, body.size);
        head.resolve({ oid: body.oid, type: body.type as ObjectType, data });
      }
    }
    return data.subarray(take);
  }

  private protocolError(header: string): void {
    this.fail(new Error(`unexpected reply from git cat-file: ${header.slice(0, 100)}`));
    this.child.kill();
  }
}
