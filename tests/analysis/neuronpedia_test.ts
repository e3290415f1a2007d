import { checkNeuronpediaId, neuronpediaFeatureUrl, neuronpediaQuickListUrl } from "../../core/analysis/neuronpedia.ts";
import { assertEquals, assertThrows } from "../_assert.ts";

Deno.test("Neuronpedia feature URL", () => {
  assertEquals(neuronpediaFeatureUrl("gpt2-small/8-res-jb", 1234), "https://neuronpedia.org/gpt2-small/8-res-jb/1234");
  assertThrows(() => neuronpediaFeatureUrl("gpt2-small", 1), RangeError, "expected MODEL/SET");
});

Deno.test("Neuronpedia quick list URL is the one SAELens's get_neuronpedia_quick_list builds", () => {
  // urllib.parse.quote of json.dumps([{"modelId": "gpt2-small", "layer": "8-res-jb", "index": "1"}, ...])
  assertEquals(
    neuronpediaQuickListUrl("gpt2-small/8-res-jb", [1, 2], "my list"),
    "https://neuronpedia.org/quick-list/?name=my%20list&features=%5B%7B%22modelId%22%3A%20%22gpt2-small%22%2C%20%22layer%22%3A%20%228-res-jb%22%2C%20%22index%22%3A%20%221%22%7D%2C%20%7B%22modelId%22%3A%20%22gpt2-small%22%2C%20%22layer%22%3A%20%228-res-jb%22%2C%20%22index%22%3A%20%222%22%7D%5D",
  );
});

Deno.test("checkNeuronpediaId splits MODEL/SET and refuses other shapes", () => {
  assertEquals(checkNeuronpediaId("gemma-2-2b/20-gemmascope-res-16k"), ["gemma-2-2b", "20-gemmascope-res-16k"]);
  for (const bad of ["8-res-jb", "a/b/c", "/8-res-jb", "gpt2-small/"]) {
    assertThrows(() => checkNeuronpediaId(bad), RangeError, `Neuronpedia id "${bad}": expected MODEL/SET`);
  }
});
