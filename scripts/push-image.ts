// `npm run image:push -- REF --key cosign.key [--plain-http] [--docker-config FILE] [--built DIR]`:
// pushes what image:build wrote, signs it and attaches its SBOM and provenance (scripts/image/push.ts).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pushImage } from "./image/push.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root =
  path.basename(path.dirname(here)) === "dist" ? path.resolve(here, "../..") : path.resolve(here, "..");
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    key: { type: "string" },
    built: { type: "string", default: path.join(root, ".image") },
    "plain-http": { type: "boolean", default: false },
    "docker-config": { type: "string" },
  },
});
const [ref] = positionals;
if (ref === undefined || values.key === undefined || positionals.length !== 1) {
  process.stderr.write("usage: npm run image:push -- REGISTRY/REPO[:TAG] --key cosign.key [--plain-http]\n");
  process.exit(2);
}
const result = await pushImage({
  built: path.resolve(values.built),
  ref,
  key: values.key,
  cli: path.join(root, "dist", "src", "cli", "main.js"),
  plainHttp: values["plain-http"],
  ...(values["docker-config"] === undefined ? {} : { dockerConfig: values["docker-config"] }),
});
process.stdout.write(`${JSON.stringify(result)}\n`);
