// Every ```ts block of README.md and docs/*.md, as Deno's `test --doc` treats JSDoc examples: all are type checked
// in one `deno check`; those not fenced ```ts ignore (network, a GPU, a placeholder path) also run as written on the
// default device, on the embedded model and SAE, with the network denied and a time limit.
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals } from "./_assert.ts";
import { spawn } from "./cli/_run.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CONFIG = join(ROOT, "deno.json");
const RUN_LIMIT_MS = 120_000;

/**
 * Snippets that fail today, each found by its file and a piece of its code, with the reason. The test checks that
 * each still fails as said, so a fix shows up as a failure asking to take the snippet off this list.
 */
const KNOWN_BROKEN: { file: string; code: string; fails: "check" | "run"; reason: string }[] = [];

interface Snippet {
  /** The Markdown file, relative to the repository root. */
  file: string;
  /** Line of the opening fence. */
  line: number;
  code: string;
  /** Fenced ```ts ignore: type checked only. */
  ignore: boolean;
}

/** The ```ts blocks of a Markdown text; any other info after `ts` than `ignore` is an error naming the line. */
function tsBlocks(file: string, text: string): Snippet[] {
  const lines = text.split("\n");
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\S*)\s*(.*)$/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end < 0) throw new SyntaxError(`${file}:${i + 1}: code fence is never closed`);
    if (fence[1] === "ts") {
      if (fence[2] !== "" && fence[2] !== "ignore") {
        throw new SyntaxError(`${file}:${i + 1}: expected \`\`\`ts or \`\`\`ts ignore: got \`\`\`ts ${fence[2]}`);
      }
      found.push({ file, line: i + 1, code: lines.slice(i + 1, end).join("\n"), ignore: fence[2] === "ignore" });
    }
    i = end;
  }
  return found;
}

const docs = [...Deno.readDirSync(join(ROOT, "docs"))].filter((e) => e.isFile && e.name.endsWith(".md"))
  .map((e) => `docs/${e.name}`).sort();
const SNIPPETS = ["README.md", ...docs].flatMap((file) => tsBlocks(file, Deno.readTextFileSync(join(ROOT, file))));

function brokenEntry(s: Snippet) {
  return KNOWN_BROKEN.find((b) => b.file === s.file && s.code.includes(b.code));
}

/** A snippet's file name in the temporary folder: its Markdown file and line, so errors point back to it. */
function snippetName(s: Snippet): string {
  return `${s.file.replace(/[/.]/g, "_")}_L${s.line + 1}.ts`;
}

/** Writes snippets into a fresh folder inside the repository (so "@sae/cli" resolves to mod.ts) and runs `fn`. */
async function withSnippetFiles<T>(list: Snippet[], fn: (dir: string, paths: string[]) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ dir: ROOT, prefix: ".docs-snippets-" });
  try {
    // export {} keeps a snippet without imports a module; appended, so line numbers stay the Markdown's
    const paths = list.map((s) => join(dir, snippetName(s)));
    await Promise.all(list.map((s, i) => Deno.writeTextFile(paths[i], `${s.code}\nexport {};\n`)));
    return await fn(dir, paths);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("README.md and docs/*.md hold ts snippets, and each KNOWN_BROKEN entry names exactly one of them", () => {
  assertEquals(SNIPPETS.some((s) => s.file === "README.md" && !s.ignore), true, "README.md has a runnable ts snippet");
  for (const b of KNOWN_BROKEN) {
    const matches = SNIPPETS.filter((s) => s.file === b.file && s.code.includes(b.code));
    assertEquals(matches.length, 1, `KNOWN_BROKEN ${b.file} "${b.code}" matches ${matches.length} snippets`);
    if (b.fails === "run") assertEquals(matches[0].ignore, false, `${b.file}:${matches[0].line} is never run`);
  }
});

Deno.test("every ts snippet of README.md and docs/*.md passes deno check, but those listed as broken", async () => {
  const good = SNIPPETS.filter((s) => brokenEntry(s)?.fails !== "check");
  const { code, stderr } = await withSnippetFiles(good, (_, paths) => spawn(["check", "--config", CONFIG, ...paths]));
  assertEquals(code, 0, `files are named FILE_md_LN.ts: line n of one is line N + n − 1 of FILE.md\n${stderr}`);
});

for (const s of SNIPPETS.filter((s) => brokenEntry(s)?.fails === "check")) {
  Deno.test(`${s.file}:${s.line} still fails deno check (KNOWN_BROKEN: ${brokenEntry(s)!.reason})`, async () => {
    const { code } = await withSnippetFiles([s], (_, paths) => spawn(["check", "--config", CONFIG, ...paths]));
    assertEquals(code !== 0, true, `${s.file}:${s.line} passes deno check now: take it off KNOWN_BROKEN`);
  });
}

for (const s of SNIPPETS.filter((s) => !s.ignore && brokenEntry(s)?.fails !== "check")) {
  const broken = brokenEntry(s);
  const name = broken
    ? `${s.file}:${s.line} still fails when run (KNOWN_BROKEN: ${broken.reason})`
    : `${s.file}:${s.line} runs as written on the embedded model and SAE, no network, within ${RUN_LIMIT_MS / 1000} s`;
  Deno.test({ name, sanitizeResources: false }, async () => {
    const { code, stdout, stderr } = await withSnippetFiles([s], async (dir, [path]) => {
      const command = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", "--deny-net", "--no-check", "--config", CONFIG, basename(path)],
        cwd: dir,
        env: { HF_HUB_OFFLINE: "1" },
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(RUN_LIMIT_MS),
      });
      const out = await command.output().catch((error) => {
        if (error instanceof DOMException && error.name === "TimeoutError") return undefined;
        throw error;
      });
      if (!out) return { code: -1, stdout: "", stderr: `timed out after ${RUN_LIMIT_MS / 1000} s` };
      const text = new TextDecoder();
      return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
    });
    if (broken) assertEquals(code !== 0, true, `${s.file}:${s.line} runs now: take it off KNOWN_BROKEN\n${stdout}`);
    else assertEquals(code, 0, `${s.file}:${s.line} (exit ${code})\n${stdout}\n${stderr}`);
  });
}
