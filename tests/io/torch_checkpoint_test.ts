import { parseTorchCheckpoint, readTorchStateDict } from "../../core/io/torch_checkpoint.ts";
import { toFloat32, toIntegers } from "../../core/io/safetensors.ts";
import { loadPickle, MAX_PICKLE_DEPTH } from "../../core/io/torch_pickle.ts";
import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { TORCH_FIXTURES } from "./_torch_fixtures.ts";

type Expected = Record<string, { dtype: string; shape: number[]; values: number[] }>;
const DTYPES: Record<string, string> = {
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
  float64: "F64",
  int64: "I64",
  int32: "I32",
};

for (const name of ["tensors", "dl_standard", "dl_gated", "dl_topk", "deepseek_l3", "hook_z_L1"]) {
  Deno.test(`readTorchStateDict() reads ${name}.pt as torch.load(weights_only=True) does`, async () => {
    const expected: Expected = JSON.parse(await Deno.readTextFile(`${TORCH_FIXTURES}${name}.json`));
    const tensors = await readTorchStateDict(`${TORCH_FIXTURES}${name}.pt`);
    assertEquals([...tensors.keys()], Object.keys(expected));
    for (const [key, want] of Object.entries(expected)) {
      const t = tensors.get(key)!;
      assertEquals([t.dtype, t.shape], [DTYPES[want.dtype], want.shape], key);
      const values = t.dtype.startsWith("I") ? toIntegers(t, key) : Array.from(toFloat32(t, key));
      assertEquals(values, want.values.map((v) => t.dtype.startsWith("I") ? v : Math.fround(v)), key);
    }
  });
}

Deno.test("readTorchStateDict() refuses a pickle that would run os.system, naming the global, and runs nothing", async () => {
  await assertRejects(
    () => readTorchStateDict(`${TORCH_FIXTURES}evil.pt`),
    SyntaxError,
    "evil.pt:evil/data.pkl: the pickle names the global posix.system, which a state dict never needs",
  );
});

/** A protocol-2 pickle from opcodes and their arguments. */
function pickle(...parts: (number | string | number[])[]): Uint8Array {
  const out: number[] = [0x80, 2];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") out.push(...new TextEncoder().encode(p));
    else out.push(...p);
  }
  return new Uint8Array([...out, 0x2e]);
}
const unicode = (s: string) => [0x58, s.length, 0, 0, 0, ...new TextEncoder().encode(s)];
const noStorage = () => {
  throw new Error("no storage expected");
};

Deno.test("loadPickle() builds plain values: dicts, lists, tuples, ints, floats, strings, memo", () => {
  const bytes = pickle(
    0x7d, // {}
    0x28, // MARK
    ...unicode("a"),
    0x5d,
    0x71,
    1,
    0x4b,
    7,
    0x61, // ["a": [7]] memo 1
    ...unicode("b"),
    0x47,
    [0x3f, 0xf8, 0, 0, 0, 0, 0, 0], // 1.5
    ...unicode("c"),
    0x68,
    1, // the same list again
    ...unicode("d"),
    0x4a,
    [0xff, 0xff, 0xff, 0xff],
    0x4e,
    0x88,
    0x87, // (-1, None, True)
    ...unicode("e"),
    0x8a,
    9,
    [0, 0, 0, 0, 0, 0, 0, 0, 1], // 2**64 as LONG1
    0x75, // SETITEMS
  );
  const v = loadPickle(bytes, "p", noStorage) as Map<string, unknown>;
  assertEquals(v.get("a"), [7]);
  assertEquals(v.get("c") === v.get("a"), true);
  assertEquals(v.get("b"), 1.5);
  assertEquals((v.get("d") as { items: unknown[] }).items, [-1, null, true]);
  assertEquals(v.get("e"), 2n ** 64n);
});

Deno.test("loadPickle() refuses what weights_only refuses, and damaged pickles, with the reason", () => {
  const refuse = (bytes: Uint8Array, text: string) =>
    assertThrows(() => loadPickle(bytes, "p", noStorage), SyntaxError, text);
  refuse(pickle("cbuiltins\neval\n"), "names the global builtins.eval");
  refuse(pickle("c__builtin__\nexec\n"), "names the global builtins.exec"); // protocol-2 names are mapped first
  refuse(pickle(0x93), "opcode 0x93"); // STACK_GLOBAL (protocol 4)
  refuse(pickle(0x69, "os\nsystem\n"), "opcode 0x69"); // INST
  refuse(pickle(0x8f), "opcode 0x8f"); // EMPTY_SET: no sets in a state dict
  refuse(pickle(...unicode("x"), 0x51), 'a persistent id is "x": only storages are');
  refuse(pickle(0x5d, 0x29, 0x52), "REDUCE calls a list");
  refuse(pickle("ccollections\nOrderedDict\n", 0x29, 0x52, 0x7d, 0x5d, 0x62, 0x29), "BUILD with a list");
  refuse(pickle(0x4b, 0, 0x4b, 1, 0x4b, 2, 0x73), "SETITEM(S) on 0: only dicts take items");
  refuse(pickle(0x4b, 1, 0x4b, 2, 0x73), "the pickle reads an empty stack");
  refuse(pickle(0x68, 3), "gets memo 3, never put");
  refuse(pickle(0x28, 0x4b, 1), "stops with values left on its stack");
  refuse(new Uint8Array([0x80, 2, 0x58, 0xff, 0xff, 0x7f, 0]), "a string of 8388607 bytes");
  refuse(new Uint8Array([0x80, 2, 0x4a, 1]), "the pickle ends inside BININT");
  refuse(pickle(0x5d, 0x71, 0, 0x68, 0, 0x61), "holds a container inside itself");
  refuse(
    pickle(...Array(MAX_PICKLE_DEPTH + 2).fill([0x5d]).flat(), ...Array(MAX_PICKLE_DEPTH + 1).fill(0x61)),
    "nests deeper",
  );
  refuse(pickle("ccollections\nOrderedDict\n"), "holds collections.OrderedDict itself");
});

Deno.test("parseTorchCheckpoint() refuses pre-1.6 pickle streams and tensors outside their storage", async () => {
  await assertRejects(() => parseTorchCheckpoint(pickle(0x7d), "old.pt"), SyntaxError, "PyTorch's format before 1.6");
  await assertRejects(
    () => parseTorchCheckpoint(new Uint8Array(4), "x.pt"),
    SyntaxError,
    "is not a PyTorch checkpoint",
  );
  // a real checkpoint whose pickle claims a larger view than its storage holds: patch "slice"'s size 5 to 9
  const bytes = await Deno.readFile(`${TORCH_FIXTURES}tensors.pt`);
  const ckpt = await parseTorchCheckpoint(bytes, "tensors.pt");
  const slice = (ckpt.value as Map<string, never>).get("slice")!;
  (slice as { shape: number[] }).shape[0] = 9;
  assertThrows(() => ckpt.tensor(slice, "slice"), SyntaxError, "reaches element 10 of a 10-element storage");
});
