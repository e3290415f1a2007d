// Runs a test with HF_ENDPOINT on a local Hub-like server and HF_HOME in a fresh folder, as a user's shell would
// set them, so in-process and spawned CLI runs alike download from it.
import { type HubRepo, type HubServer, startHubServer } from "./_hub_server.ts";

/** Runs `fn` with HF_ENDPOINT on a Hub-like server for `repos` and HF_HOME in a fresh folder, then restores both. */
export async function withHubEnv(
  repos: Record<string, HubRepo>,
  fn: (server: HubServer, home: string) => Promise<void>,
): Promise<void> {
  const server = await startHubServer(repos);
  const home = await Deno.makeTempDir();
  const saved = ["HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE"].map((k) => [k, Deno.env.get(k)] as const);
  Deno.env.set("HF_ENDPOINT", server.endpoint);
  Deno.env.set("HF_HOME", home);
  Deno.env.delete("HF_HUB_CACHE");
  try {
    await fn(server, home);
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    await server.close();
    await Deno.remove(home, { recursive: true });
  }
}
