/**
 * Loading the strong overview model in the browser (src/lib/strong-demo.ts checks and runs it): its
 * vocabulary and idf and its float32 weights, a few megabytes, fetched once.
 */
import { parseStrongText, type DemoStrongText } from '../../lib/strong-demo.ts';
import type { DemoConfig } from '../../lib/demo.ts';
import { message } from './errors.ts';

async function download(url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`cannot download ${url} (${message(error)})`);
  }
  if (!response.ok) throw new Error(`the strong model's files are missing (HTTP ${response.status} for ${url}); build the site with \`npm run build\``);
  return response;
}

export async function loadStrongText(config: DemoConfig): Promise<DemoStrongText> {
  const urls = config.strongText!;
  const [json, weights] = await Promise.all([download(urls.model), download(urls.weights)]);
  let data: unknown;
  try {
    data = await json.json();
  } catch {
    throw new Error(`${urls.model} is not valid JSON; rebuild the site`);
  }
  return parseStrongText(data, await weights.arrayBuffer(), config.genres, urls.model);
}
