/**
 * Loading the strong overview model in the browser (src/lib/strong-demo.ts checks and runs it): its
 * vocabulary and idf and its float32 weights, a few megabytes, fetched once.
 */
import { parseStrongText, type DemoStrongText } from '../../lib/strong-demo.ts';
import type { DemoConfig } from '../../lib/demo.ts';
import { download, fetchMetadata } from './models.ts';

export async function loadStrongText(config: DemoConfig): Promise<DemoStrongText> {
  const urls = config.strongText!;
  const what = 'strong model’s files';
  const [data, weights] = await Promise.all([fetchMetadata(urls.model, what), download(urls.weights, what)]);
  return parseStrongText(data, await weights.arrayBuffer(), config.genres, urls.model);
}
