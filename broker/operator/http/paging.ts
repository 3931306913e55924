// Paged lists: `?limit&offset`, newest or id order per route, answered as
// { items, limit, offset, nextOffset } where nextOffset is null on the last page.
import * as z from 'zod';
import { PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, PAGE_OFFSET_MAX } from '../../limits.js';

/** A decimal integer query parameter in [min, max] (query values are strings on the wire). */
export function integerParam(min: number, max: number) {
  return z
    .string()
    .regex(/^(0|[1-9][0-9]{0,8})$/, 'must be a decimal integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

export const pageQueryShape = {
  limit: integerParam(1, PAGE_LIMIT_MAX).default(PAGE_LIMIT_DEFAULT).describe(`page size, 1-${PAGE_LIMIT_MAX}`),
  offset: integerParam(0, PAGE_OFFSET_MAX).default(0).describe('items to skip'),
};
export const pageQuery = z.strictObject(pageQueryShape);

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.strictObject({
    items: z.array(item),
    limit: z.number().int(),
    offset: z.number().int(),
    nextOffset: z.number().int().nullable().describe('offset of the next page; null on the last page'),
  });
}

/** Builds a page from `limit + 1` fetched rows (the extra row only says whether more exist). */
export function pageOf<R, V>(rows: readonly R[], page: { limit: number; offset: number }, view: (row: R) => V) {
  return {
    items: rows.slice(0, page.limit).map(view),
    limit: page.limit,
    offset: page.offset,
    nextOffset: rows.length > page.limit ? page.offset + page.limit : null,
  };
}
