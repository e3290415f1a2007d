// The shared fixture folder (../shared/fixtures next to the repository).
export const FIXTURES = new URL("../../shared/fixtures/", import.meta.url).pathname;
