/**
 * A restricted unpickler for PyTorch checkpoints, with the rules of `torch.load(weights_only=True)`
 * (`torch/_weights_only_unpickler.py`): only the opcodes of pickle protocol 2 that it executes, and instead of
 * importing whatever a `GLOBAL` names, a fixed list of what a state dict is built from: tensors rebuilt from
 * storages (`torch._utils._rebuild_tensor_v2` and kin), `collections.OrderedDict`, `torch.nn.Parameter`, and
 * plain lists, tuples, dicts, numbers and strings. Nothing pickled is ever run: every other global, opcode or
 * persistent id is a `SyntaxError` naming it, so a hostile `.pt` cannot execute code.
 *
 * @module
 */

import type { SafetensorsDtype } from "./safetensors.ts";

/** A storage a tensor views: `data/<key>` of the checkpoint, `numel` elements of `dtype`. */
export class TorchStorage {
  /**
   * @param dtype Element type, from its storage class (`torch.FloatStorage` → F32).
   * @param key Its record name in the archive.
   * @param numel Elements it holds.
   */
  constructor(readonly dtype: SafetensorsDtype, readonly key: string, readonly numel: number) {}
}

/** A tensor of the pickle: a strided view of a storage, not yet read. */
export class TorchTensor {
  /**
   * @param storage The storage it views.
   * @param offset Its first element in the storage.
   * @param shape Its size.
   * @param stride Elements between neighbours along each dimension.
   */
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** A Python tuple (lists are arrays). */
export class PickleTuple {
  /** @param items Its items. */
  constructor(readonly items: PickleValue[]) {}
}

/** A dict key: what Python hashes among the values allowed here. */
export type PickleKey = string | number | bigint | boolean | null;

/** A value a weights-only pickle can hold. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PickleValue[]
  | PickleTuple
  | Map<PickleKey, PickleValue>
  | TorchTensor;

/** A callable the pickle may name, by `module.name`: an argument of REDUCE, never part of the result. */
class Global {
  constructor(readonly name: string) {}
}

/** MARK's place on the stack. */
const MARK = Symbol("mark");

type StackItem = PickleValue | Global | TorchStorage | typeof MARK;

/** PyTorch's storage classes and the element type each holds. */
const STORAGES: Record<string, SafetensorsDtype> = {
  "torch.FloatStorage": "F32",
  "torch.HalfStorage": "F16",
  "torch.BFloat16Storage": "BF16",
  "torch.DoubleStorage": "F64",
  "torch.LongStorage": "I64",
  "torch.IntStorage": "I32",
  "torch.ShortStorage": "I16",
  "torch.CharStorage": "I8",
  "torch.ByteStorage": "U8",
  "torch.BoolStorage": "BOOL",
  "torch.storage.UntypedStorage": "U8",
};

/** The callables a state dict is built with (a subset of weights_only's allowed globals). */
const CALLABLES = [
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_parameter_with_state",
  "torch._tensor._rebuild_from_type_v2",
  "torch.nn.parameter.Parameter",
  "torch.Tensor",
];

/** Python 2 module names protocol 2 pickles may use, as pickle's compatibility mapping renames them. */
const RENAMED_MODULES: Record<string, string> = { __builtin__: "builtins", copy_reg: "copyreg" };

/** Bytes a pickle string may take before it is refused (a state dict's keys are short). */
const MAX_STRING_BYTES = 1 << 20;

/** Nesting of containers inside each other beyond which a pickle is refused (state dicts are flat). */
export const MAX_PICKLE_DEPTH = 32;

function isStorageClass(v: StackItem): v is Global {
  return v instanceof Global && Object.hasOwn(STORAGES, v.name);
}

function describe(v: StackItem): string {
  if (v === MARK) return "a mark";
  if (v instanceof Global) return v.name;
  if (v instanceof TorchStorage) return "a storage";
  if (v instanceof TorchTensor) return "a tensor";
  if (v instanceof PickleTuple) return "a tuple";
  if (v instanceof Map) return "a dict";
  if (Array.isArray(v)) return "a list";
  return typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : String(v);
}

/** Reads the pickle's bytes, each read bounded, failing with the file's name. */
class Reader {
  at = 0;
  readonly #view: DataView;
  constructor(readonly bytes: Uint8Array, readonly path: string) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  take(n: number, what: string): Uint8Array {
    if (n < 0 || this.at + n > this.bytes.length) {
      throw new SyntaxError(`${this.path}: the pickle ends inside ${what} at byte ${this.at}`);
    }
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u8(what: string): number {
    return this.take(1, what)[0];
  }
  u16(what: string): number {
    const at = this.take(2, what).byteOffset - this.bytes.byteOffset;
    return this.#view.getUint16(at, true);
  }
  u32(what: string): number {
    const at = this.take(4, what).byteOffset - this.bytes.byteOffset;
    return this.#view.getUint32(at, true);
  }
  i32(what: string): number {
    const at = this.take(4, what).byteOffset - this.bytes.byteOffset;
    return this.#view.getInt32(at, true);
  }
  f64be(what: string): number {
    const at = this.take(8, what).byteOffset - this.bytes.byteOffset;
    return this.#view.getFloat64(at, false);
  }
  line(what: string): string {
    const end = this.bytes.indexOf(0x0a, this.at);
    if (end < 0 || end - this.at > 256) throw new SyntaxError(`${this.path}: unterminated ${what} at byte ${this.at}`);
    const text = this.text(this.take(end - this.at, what), what);
    this.at++;
    return text;
  }
  text(bytes: Uint8Array, what: string): string {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new SyntaxError(`${this.path}: ${what} at byte ${this.at} is not valid UTF-8`);
    }
  }
}

/** Two's-complement little-endian integer of LONG1. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Loads a weights-only pickle (PyTorch's `data.pkl`).
 *
 * @example A pickled `{"k": 5}` (protocol 2)
 * ```ts
 * import { loadPickle } from "./torch_pickle.ts";
 * const bytes = new Uint8Array([0x80, 2, 0x7d, 0x58, 1, 0, 0, 0, 0x6b, 0x4b, 5, 0x73, 0x2e]);
 * console.log(loadPickle(bytes, "data.pkl", () => {})); // Map(1) { "k" => 5 }
 * ```
 *
 * @param bytes The pickle.
 * @param path Its name, for errors.
 * @param storage Checks a persistent id `('storage', class, key, location, numel)`: that the archive has it.
 * @returns The value.
 * @throws {SyntaxError} For any opcode, global or persistent id outside the weights-only rules, a malformed or
 * truncated pickle, or containers nested deeper than {@linkcode MAX_PICKLE_DEPTH}.
 */
export function loadPickle(
  bytes: Uint8Array,
  path: string,
  storage: (storage: TorchStorage) => void,
): PickleValue {
  const r = new Reader(bytes, path);
  let stack: StackItem[] = [];
  const marks: StackItem[][] = [];
  const memo = new Map<number, StackItem>();
  const fail = (why: string): never => {
    throw new SyntaxError(
      `${path}: ${why} (at byte ${r.at}); sae reads only what torch.load(weights_only=True) allows`,
    );
  };
  const pop = (): StackItem => stack.length > 0 ? stack.pop()! : fail("the pickle pops an empty stack");
  const top = (): StackItem => stack.length > 0 ? stack[stack.length - 1] : fail("the pickle reads an empty stack");
  // callables and storages may sit in the arguments of a call; checkResult() keeps them out of the result
  const value = (v: StackItem, what: string): PickleValue =>
    v === MARK ? fail(`${what} is ${describe(v)}, not a value`) : v as PickleValue;
  const popMark = (): StackItem[] => {
    const items = stack;
    stack = marks.pop() ?? fail("the pickle closes a mark it never opened");
    return items;
  };
  const key = (v: StackItem): PickleKey => {
    if (v === null || ["string", "number", "bigint", "boolean"].includes(typeof v)) return v as PickleKey;
    return fail(`a dict key is ${describe(v)}`);
  };
  const setItems = (target: StackItem, items: StackItem[]) => {
    if (!(target instanceof Map)) return fail(`SETITEM(S) on ${describe(target)}: only dicts take items`);
    if (items.length % 2 !== 0) fail("SETITEMS has an odd number of items");
    for (let i = 0; i < items.length; i += 2) target.set(key(items[i]), value(items[i + 1], "a dict value"));
  };
  for (;;) {
    const op = r.u8("an opcode");
    switch (op) {
      case 0x80: // PROTO
        if (r.u8("PROTO") > 5) fail("the pickle protocol is above 5");
        break;
      case 0x2e: { // STOP
        const result = value(pop(), "the pickle's result");
        if (stack.length > 0 || marks.length > 0) fail("the pickle stops with values left on its stack");
        checkResult(result, path);
        return result;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PickleTuple([]));
        break;
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x74: { // TUPLE (popMark() swaps the stack: take the items before pushing)
        const items = popMark().map((v) => value(v, "a tuple item"));
        stack.push(new PickleTuple(items));
        break;
      }
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: { // TUPLE3
        const n = op - 0x84;
        if (stack.length < n) fail(`TUPLE${n} on a stack of ${stack.length}`);
        stack.push(new PickleTuple(stack.splice(stack.length - n, n).map((v) => value(v, "a tuple item"))));
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(r.i32("BININT"));
        break;
      case 0x4b: // BININT1
        stack.push(r.u8("BININT1"));
        break;
      case 0x4d: // BININT2
        stack.push(r.u16("BININT2"));
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(r.take(r.u8("LONG1"), "LONG1")));
        break;
      case 0x47: // BINFLOAT
        stack.push(r.f64be("BINFLOAT"));
        break;
      case 0x58: { // BINUNICODE
        const n = r.u32("BINUNICODE");
        if (n > MAX_STRING_BYTES) fail(`a string of ${n} bytes`);
        stack.push(r.text(r.take(n, "a string"), "a string"));
        break;
      }
      case 0x55: // SHORT_BINSTRING (torch.load decodes it as UTF-8)
        stack.push(r.text(r.take(r.u8("SHORT_BINSTRING"), "a string"), "a string"));
        break;
      case 0x71: // BINPUT
      case 0x72: // LONG_BINPUT
        memo.set(op === 0x71 ? r.u8("BINPUT") : r.u32("LONG_BINPUT"), top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const index = op === 0x68 ? r.u8("BINGET") : r.u32("LONG_BINGET");
        stack.push(memo.has(index) ? memo.get(index)! : fail(`the pickle gets memo ${index}, never put`));
        break;
      }
      case 0x73: { // SETITEM
        const v = pop(), k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const item = value(pop(), "a list item");
        const list = top();
        if (!Array.isArray(list)) fail(`APPEND to ${describe(list)}: only lists take items`);
        (list as PickleValue[]).push(item);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark().map((v) => value(v, "a list item"));
        const list = top();
        if (!Array.isArray(list)) fail(`APPENDS to ${describe(list)}: only lists take items`);
        for (const item of items) (list as PickleValue[]).push(item);
        break;
      }
      case 0x63: { // GLOBAL
        const module = r.line("a GLOBAL's module");
        const name = `${RENAMED_MODULES[module] ?? module}.${r.line("a GLOBAL's name")}`;
        if (!CALLABLES.includes(name) && !Object.hasOwn(STORAGES, name)) {
          fail(`the pickle names the global ${name}, which a state dict never needs`);
        }
        stack.push(new Global(name));
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        const items = pid instanceof PickleTuple ? pid.items : [];
        const [kind, cls, storageKey, , numel] = items as StackItem[];
        if (items.length < 5 || kind !== "storage") fail(`a persistent id is ${describe(pid)}: only storages are`);
        if (!isStorageClass(cls)) fail(`a storage's class is ${describe(cls)}`);
        if (typeof storageKey !== "string" || !/^\w+$/.test(storageKey)) {
          fail(`a storage key is ${describe(storageKey)}`);
        }
        if (!Number.isSafeInteger(numel) || (numel as number) < 0) fail(`a storage's size is ${describe(numel)}`);
        const found = new TorchStorage(STORAGES[(cls as Global).name], storageKey as string, numel as number);
        storage(found);
        stack.push(found);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof Global) || isStorageClass(fn)) fail(`REDUCE calls ${describe(fn)}`);
        if (!(args instanceof PickleTuple)) fail(`REDUCE passes ${describe(args)}, not a tuple of arguments`);
        stack.push(call((fn as Global).name, (args as PickleTuple).items, fail));
        break;
      }
      case 0x81: { // NEWOBJ: only torch.nn.Parameter(data, requires_grad)
        const args = pop();
        const cls = pop();
        if (!(cls instanceof Global) || cls.name !== "torch.nn.parameter.Parameter") fail(`NEWOBJ of ${describe(cls)}`);
        const data = args instanceof PickleTuple ? args.items[0] : undefined;
        if (!(data instanceof TorchTensor)) fail("NEWOBJ of a Parameter without a tensor");
        stack.push(data as TorchTensor);
        break;
      }
      case 0x62: { // BUILD: an OrderedDict's attributes (a state dict's _metadata) are dropped
        const state = pop();
        const inst = top();
        if (!(inst instanceof Map)) fail(`BUILD of ${describe(inst)}: only an OrderedDict's attributes are set`);
        if (!(state instanceof Map) && state !== null) fail(`BUILD with ${describe(state)} as attributes`);
        break;
      }
      default:
        fail(`the pickle uses opcode 0x${op.toString(16).padStart(2, "0")}, which torch's weights-only loader refuses`);
    }
  }
}

/** Applies one of {@linkcode CALLABLES}. */
function call(name: string, args: PickleValue[], fail: (why: string) => never): PickleValue {
  const tensorArg = (v: PickleValue | undefined, what: string): TorchTensor =>
    v instanceof TorchTensor ? v : fail(`${name}'s ${what} is ${v === undefined ? "missing" : describe(v)}`);
  switch (name) {
    case "collections.OrderedDict": {
      const out = new Map<PickleKey, PickleValue>();
      if (args.length === 0) return out;
      const pairs = args[0];
      if (args.length > 1 || !Array.isArray(pairs)) return fail("OrderedDict takes one list of pairs");
      for (const pair of pairs) {
        if (!(pair instanceof PickleTuple) || pair.items.length !== 2) fail("OrderedDict takes (key, value) pairs");
        const [k, v] = (pair as PickleTuple).items;
        if (!(k === null || ["string", "number", "bigint", "boolean"].includes(typeof k))) {
          fail("a dict key is not hashable");
        }
        out.set(k as PickleKey, v);
      }
      return out;
    }
    case "torch._utils._rebuild_tensor":
    case "torch._utils._rebuild_tensor_v2": {
      const [storage, offset, size, stride] = args as StackItem[];
      if (!(storage instanceof TorchStorage)) return fail(`${name} rebuilds from ${describe(storage ?? null)}`);
      const dims = (v: StackItem | undefined, what: string): number[] => {
        const items = v instanceof PickleTuple ? v.items : fail(`${name}'s ${what} is not a tuple`);
        if (!items.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
          fail(`${name}'s ${what} holds other than non-negative integers`);
        }
        return items as number[];
      };
      if (!Number.isSafeInteger(offset) || (offset as number) < 0) {
        fail(`${name}'s storage offset is ${describe(offset ?? null)}`);
      }
      const shape = dims(size, "size"), strides = dims(stride, "stride");
      if (shape.length !== strides.length) fail(`${name} gives ${shape.length} sizes but ${strides.length} strides`);
      return new TorchTensor(storage, offset as number, shape, strides);
    }
    case "torch._utils._rebuild_parameter":
    case "torch._utils._rebuild_parameter_with_state":
      return tensorArg(args[0], "data");
    case "torch._tensor._rebuild_from_type_v2": {
      // (func, type, args, state): a plain Tensor or Parameter whose attributes are dropped
      const [, type, inner, state] = args as StackItem[];
      if (!(type instanceof Global) || !["torch.Tensor", "torch.nn.parameter.Parameter"].includes(type.name)) {
        return fail(`_rebuild_from_type_v2 of ${describe(type ?? null)}: only tensors`);
      }
      if (state !== null && !(state instanceof Map)) fail("_rebuild_from_type_v2's state is not a dict");
      const callee = (args as StackItem[])[0];
      if (!(callee instanceof Global) || !(inner instanceof PickleTuple)) return fail("_rebuild_from_type_v2's call");
      if (!callee.name.startsWith("torch._utils._rebuild_tensor")) fail(`_rebuild_from_type_v2 calls ${callee.name}`);
      return call(callee.name, inner.items, fail);
    }
    default:
      return fail(`REDUCE calls ${name}`);
  }
}

/**
 * Refuses a result that holds a callable or a bare storage, nests deeper than {@linkcode MAX_PICKLE_DEPTH} or
 * holds itself (the memo can make cycles).
 */
function checkResult(v: StackItem, path: string, depth = 0, open = new Set<object>()): void {
  if (v instanceof Global || v instanceof TorchStorage) {
    throw new SyntaxError(`${path}: the pickle's result holds ${describe(v)} itself rather than what it builds`);
  }
  if (typeof v !== "object" || v === null || v instanceof TorchTensor) return;
  if (depth > MAX_PICKLE_DEPTH) {
    throw new SyntaxError(`${path}: the pickle nests deeper than ${MAX_PICKLE_DEPTH} levels`);
  }
  if (open.has(v)) throw new SyntaxError(`${path}: the pickle holds a container inside itself`);
  open.add(v);
  const items = v instanceof Map ? v.values() : v instanceof PickleTuple ? v.items : v as PickleValue[];
  for (const item of items) checkResult(item, path, depth + 1, open);
  open.delete(v);
}
