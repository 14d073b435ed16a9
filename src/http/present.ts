/**
 * What leaves the API is an explicit list of fields per resource (each route folder's
 * presenter.ts): a column added to a table stays inside until a presenter names it, and
 * internal fields (hashes, tokens, secrets, bookkeeping) are never named. Dates leave as
 * `Y-m-d H:i:s` through the JSON middleware.
 */

/** Turns a row into the object an answer carries. */
export type Presenter<R> = (row: R) => Record<string, unknown>;

/** Where a field's value comes from when it is not the row's property of that name: a rename, a nested presenter, a signed URL. */
export type FieldSources<R, F extends string> = Partial<Record<F, (row: R) => unknown>>;

/**
 * A presenter of `fields`, in that order. A field whose value is undefined (a count or a
 * relation the query did not load, as a list leaves out what a show adds) is left out.
 */
export function presenter<R extends object, const F extends readonly string[]>(fields: F, sources: FieldSources<R, F[number]> = {}): Presenter<R> {
  return (row) => {
    const out: Record<string, unknown> = {};
    for (const field of fields as readonly F[number][]) {
      const source = sources[field];
      const value = source ? source(row) : (row as Record<string, unknown>)[field];
      if (value !== undefined) out[field] = value;
    }
    return out;
  };
}
