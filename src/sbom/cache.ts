// Inventories cached by manifest digest: a digest names its content, so an image cataloged once never needs
// its layers read again. In memory (bounded, oldest out first) and optionally in a folder of JSON files,
// so a CLI run or an operator restart finds the work of the last one.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ImageInventory } from "./types.js";

export class SbomCache {
  private readonly memory = new Map<string, ImageInventory>();

  constructor(private readonly opts: { readonly dir?: string; readonly entries?: number } = {}) {}

  private file(key: string): string | undefined {
    if (this.opts.dir === undefined) return undefined;
    return path.join(this.opts.dir, `${createHash("sha256").update(key).digest("hex")}.json`);
  }

  async get(key: string): Promise<ImageInventory | undefined> {
    const hit = this.memory.get(key);
    if (hit !== undefined) return hit;
    const file = this.file(key);
    if (file === undefined) return undefined;
    try {
      const inv = JSON.parse(await readFile(file, "utf8")) as ImageInventory;
      this.remember(key, inv);
      return inv;
    } catch {
      // A missing or unreadable entry is a miss: the image is cataloged again and the entry rewritten.
      return undefined;
    }
  }

  async set(key: string, inv: ImageInventory): Promise<void> {
    this.remember(key, inv);
    const file = this.file(key);
    if (file === undefined) return;
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(inv));
    await rename(tmp, file);
  }

  private remember(key: string, inv: ImageInventory): void {
    this.memory.delete(key);
    this.memory.set(key, inv);
    const max = this.opts.entries ?? 256;
    while (this.memory.size > max) {
      const oldest = this.memory.keys().next().value;
      if (oldest === undefined) break;
      this.memory.delete(oldest);
    }
  }
}
