/**
 * The corpus of real-world mail (tests/fixtures/corpus, copied from public test suites) and the
 * expectations its source suites assert.
 */
import fs from 'node:fs';
import path from 'node:path';

export const CORPUS_DIR = process.env.CORPUS_DIR ?? path.resolve(__dirname, '../fixtures/corpus');

export interface CorpusEntry {
  source: string;
  file: string;
  kind: 'rfc822' | 'body_text' | 'html_fragment';
  expected?: Record<string, unknown>;
}

export function corpusEntries(): CorpusEntry[] {
  return JSON.parse(fs.readFileSync(path.join(CORPUS_DIR, 'manifest.json'), 'utf8')).messages as CorpusEntry[];
}

export function corpusFile(file: string): Buffer {
  return fs.readFileSync(path.join(CORPUS_DIR, file));
}

/** The count a score must reach: 90% of `total`, rounded down. */
export function required(total: number): number {
  return Math.floor(total * 0.9);
}

/** Prints a score line and returns the failures for the assertion message. */
export function reportScore(name: string, passed: number, total: number, failures: string[]): string {
  process.stdout.write(`corpus score ${name}: ${passed}/${total} (${Math.round((passed / Math.max(1, total)) * 100)}%)\n`);
  return failures.slice(0, 10).join('\n');
}
