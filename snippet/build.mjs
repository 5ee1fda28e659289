// Builds theeye.min.js from theeye.js with terser (pinned in package.json) and prints the sizes.
// The banner carries a digest of the source, so a test can tell when the two drift apart.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { minify } from "terser";

const here = (name) => new URL(name, import.meta.url);
const source = readFileSync(here("theeye.js"), "utf8");
const digest = createHash("sha256").update(source).digest("hex").slice(0, 16);
const { code } = await minify(source, {
  ecma: 5,
  compress: { passes: 2 },
  mangle: true,
  format: { comments: false, preamble: `/*! The Eye snippet | theeye.js sha256:${digest} */` },
});
writeFileSync(here("theeye.min.js"), `${code}\n`);

const gzipped = (text) => gzipSync(Buffer.from(text), { level: 9 }).length;
for (const [name, text] of [["theeye.js", source], ["theeye.min.js", `${code}\n`]]) {
  console.log(`${name.padEnd(14)} ${String(Buffer.byteLength(text)).padStart(6)} bytes, ${String(gzipped(text)).padStart(5)} gzipped`);
}
