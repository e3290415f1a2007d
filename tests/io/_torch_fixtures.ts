// The checkpoints tests/io/torch_fixtures/make_fixtures.py wrote with PyTorch, and what torch read from them.
export const TORCH_FIXTURES = new URL("./torch_fixtures/", import.meta.url).pathname;
