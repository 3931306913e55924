// Money: exact decimal parsing and formatting of bigint micro-units, checked arithmetic.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCode } from './helpers/error-code.js';
import {
  addAmount,
  amountOf,
  formatAmount,
  minAmount,
  parseAmount,
  parseMicro,
  subAmount,
  sumAmounts,
  ZERO,
  type Amount,
} from '../shared/amount.js';
import { AMOUNT_MICRO_MAX, MICRO_PER_UNIT } from '../shared/limits.js';

const U64_MAX = 18446744073709551615n;


const amount = (micro: bigint): Amount => amountOf(micro);

/** Amounts biased towards both ends of the u64 range, where the bugs live. */
const amountArb = fc
  .oneof(
    fc.bigInt({ min: 0n, max: U64_MAX }),
    fc.bigInt({ min: 0n, max: 10_000_000n }),
    fc.bigInt({ min: U64_MAX - 10_000_000n, max: U64_MAX }),
    fc.bigInt({ min: (U64_MAX >> 1n) - 1000n, max: (U64_MAX >> 1n) + 1000n }),
  )
  .map(amount);

describe('limits', () => {
  it('micro-units and the u64 ceiling', () => {
    expect(MICRO_PER_UNIT).toBe(1_000_000n);
    expect(AMOUNT_MICRO_MAX).toBe(U64_MAX);
    expect(ZERO).toBe(0n);
  });
});

describe('parseAmount', () => {
  it.each([
    ['0', 0n],
    ['0.0', 0n],
    ['0.000000', 0n],
    ['0.000001', 1n],
    ['0.000125', 125n],
    ['0.1', 100_000n],
    ['1', 1_000_000n],
    ['1.10', 1_100_000n],
    ['12', 12_000_000n],
    ['12.5', 12_500_000n],
    ['12.500000', 12_500_000n],
    ['100', 100_000_000n],
    ['999999.999999', 999_999_999_999n],
    ['18446744073709', 18_446_744_073_709_000_000n],
    ['18446744073709.551615', U64_MAX],
  ])('%j -> %s micro-units', (text, micro) => {
    expect(parseAmount(text)).toBe(micro);
  });

  it.each([
    ['1.0000001', 'AMOUNT_INVALID'],
    ['0.0000001', 'AMOUNT_INVALID'],
    ['-1', 'AMOUNT_NEGATIVE'],
    ['-0.000001', 'AMOUNT_NEGATIVE'],
    ['-0', 'AMOUNT_NEGATIVE'],
    ['+1', 'AMOUNT_INVALID'],
    ['1e3', 'AMOUNT_INVALID'],
    ['1E3', 'AMOUNT_INVALID'],
    [' 1', 'AMOUNT_INVALID'],
    ['1 ', 'AMOUNT_INVALID'],
    ['1\n', 'AMOUNT_INVALID'],
    ['\t1', 'AMOUNT_INVALID'],
    ['', 'AMOUNT_INVALID'],
    ['.5', 'AMOUNT_INVALID'],
    ['5.', 'AMOUNT_INVALID'],
    ['.', 'AMOUNT_INVALID'],
    ['NaN', 'AMOUNT_INVALID'],
    ['Infinity', 'AMOUNT_INVALID'],
    ['-Infinity', 'AMOUNT_NEGATIVE'],
    ['0x10', 'AMOUNT_INVALID'],
    ['0b1', 'AMOUNT_INVALID'],
    ['1_000', 'AMOUNT_INVALID'],
    ['1,5', 'AMOUNT_INVALID'],
    ['1.5.5', 'AMOUNT_INVALID'],
    ['01', 'AMOUNT_INVALID'],
    ['00', 'AMOUNT_INVALID'],
    ['00.5', 'AMOUNT_INVALID'],
    ['1n', 'AMOUNT_INVALID'],
    ['١', 'AMOUNT_INVALID'], // Arabic-Indic digit one
    ['１', 'AMOUNT_INVALID'], // full-width digit one
    ['1'.repeat(28), 'AMOUNT_INVALID'], // longer than any u64 amount string
    ['18446744073709.551616', 'AMOUNT_OVERFLOW'],
    ['18446744073710', 'AMOUNT_OVERFLOW'],
    ['99999999999999999999.999999', 'AMOUNT_OVERFLOW'],
  ] as const)('%j is refused with %s', (text, code) => {
    expect(errorCode(() => parseAmount(text))).toBe(code);
  });

  it('refuses non-strings', () => {
    expect(errorCode(() => parseAmount(12.5 as unknown as string))).toBe('AMOUNT_INVALID');
    expect(errorCode(() => parseAmount(12n as unknown as string))).toBe('AMOUNT_INVALID');
    expect(errorCode(() => parseAmount(null as unknown as string))).toBe('AMOUNT_INVALID');
  });
});

describe('formatAmount', () => {
  it.each([
    [0n, '0'],
    [1n, '0.000001'],
    [10n, '0.00001'],
    [125n, '0.000125'],
    [100_000n, '0.1'],
    [1_000_000n, '1'],
    [1_100_000n, '1.1'],
    [12_000_000n, '12'],
    [12_500_000n, '12.5'],
    [12_345_678n, '12.345678'],
    [U64_MAX, '18446744073709.551615'],
  ])('%s micro-units -> %j', (micro, text) => {
    expect(formatAmount(amount(micro))).toBe(text);
  });

  it('refuses values outside [0, 2^64-1]', () => {
    expect(errorCode(() => formatAmount(-1n as Amount))).toBe('AMOUNT_NEGATIVE');
    expect(errorCode(() => formatAmount((U64_MAX + 1n) as Amount))).toBe('AMOUNT_OVERFLOW');
    expect(errorCode(() => formatAmount(1 as unknown as Amount))).toBe('AMOUNT_INVALID');
  });
});

describe('amountOf and parseMicro', () => {
  it('brand values in range and refuse the rest', () => {
    expect(amountOf(0n)).toBe(0n);
    expect(amountOf(U64_MAX)).toBe(U64_MAX);
    expect(errorCode(() => amountOf(-1n))).toBe('AMOUNT_NEGATIVE');
    expect(errorCode(() => amountOf(U64_MAX + 1n))).toBe('AMOUNT_OVERFLOW');
    expect(errorCode(() => amountOf(5 as unknown as bigint))).toBe('AMOUNT_INVALID');
  });

  it.each([
    ['0', 0n],
    ['125', 125n],
    ['18446744073709551615', U64_MAX],
  ])('parseMicro(%j) = %s', (text, micro) => {
    expect(parseMicro(text)).toBe(micro);
  });

  it.each([
    ['', 'AMOUNT_INVALID'],
    ['01', 'AMOUNT_INVALID'],
    ['-1', 'AMOUNT_INVALID'],
    ['1.5', 'AMOUNT_INVALID'],
    [' 1', 'AMOUNT_INVALID'],
    ['1e3', 'AMOUNT_INVALID'],
    ['123456789012345678901', 'AMOUNT_INVALID'],
    ['18446744073709551616', 'AMOUNT_OVERFLOW'],
    ['99999999999999999999', 'AMOUNT_OVERFLOW'],
  ] as const)('parseMicro(%j) is refused with %s', (text, code) => {
    expect(errorCode(() => parseMicro(text))).toBe(code);
  });
});

describe('checked arithmetic', () => {
  it('adds and subtracts exactly', () => {
    expect(addAmount(amount(125n), amount(875n))).toBe(1000n);
    expect(subAmount(amount(1000n), amount(125n))).toBe(875n);
    expect(subAmount(amount(5n), amount(5n))).toBe(0n);
    expect(addAmount(amount(U64_MAX - 1n), amount(1n))).toBe(U64_MAX);
    expect(minAmount(amount(3n), amount(2n))).toBe(2n);
    expect(minAmount(amount(2n), amount(3n))).toBe(2n);
    expect(sumAmounts([])).toBe(0n);
    expect(sumAmounts([amount(1n), amount(2n), amount(3n)])).toBe(6n);
  });

  it('overflow past u64 and negative results are errors, never a wrap', () => {
    expect(errorCode(() => addAmount(amount(U64_MAX), amount(1n)))).toBe('AMOUNT_OVERFLOW');
    expect(errorCode(() => addAmount(amount(U64_MAX), amount(U64_MAX)))).toBe('AMOUNT_OVERFLOW');
    expect(errorCode(() => subAmount(amount(1n), amount(2n)))).toBe('AMOUNT_NEGATIVE');
    expect(errorCode(() => subAmount(ZERO, amount(U64_MAX)))).toBe('AMOUNT_NEGATIVE');
    expect(errorCode(() => sumAmounts([amount(U64_MAX), amount(1n)]))).toBe('AMOUNT_OVERFLOW');
  });
});

describe('properties', () => {
  it('parse(format(x)) === x for every amount', () => {
    fc.assert(
      fc.property(amountArb, (x) => {
        const text = formatAmount(x);
        expect(parseAmount(text)).toBe(x);
        // The formatted form is canonical: no trailing fraction zeros, no leading zeros.
        expect(text).toMatch(/^(0|[1-9][0-9]*)(\.[0-9]{0,5}[1-9])?$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('format(parse(s)) is s without trailing fraction zeros, and parse agrees with an independent computation', () => {
    const decimal = fc
      .tuple(
        fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,12}$/)),
        fc.option(fc.stringMatching(/^[0-9]{1,6}$/), { nil: undefined }),
      )
      .map(([whole, fraction]) => ({ whole, fraction, text: fraction === undefined ? whole : `${whole}.${fraction}` }));
    fc.assert(
      fc.property(decimal, ({ whole, fraction, text }) => {
        const micro = BigInt(whole) * 1_000_000n + BigInt((fraction ?? '').padEnd(6, '0'));
        expect(parseAmount(text)).toBe(micro);
        const trimmed = (fraction ?? '').replace(/0+$/, '');
        expect(formatAmount(parseAmount(text))).toBe(trimmed === '' ? whole : `${whole}.${trimmed}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('a seventh decimal is always refused, never rounded', () => {
    fc.assert(
      fc.property(amountArb, fc.integer({ min: 1, max: 9 }), (x, digit) => {
        const text = formatAmount(x);
        const sixDecimals = text.includes('.') ? text.padEnd(text.indexOf('.') + 7, '0') : `${text}.000000`;
        expect(errorCode(() => parseAmount(`${sixDecimals}${digit}`))).toBe('AMOUNT_INVALID');
      }),
    );
  });

  it('addAmount equals the bigint sum, or throws AMOUNT_OVERFLOW exactly when it leaves u64; a + b - b === a', () => {
    fc.assert(
      fc.property(amountArb, amountArb, (a, b) => {
        const exact = a + b;
        if (exact > U64_MAX) {
          expect(errorCode(() => addAmount(a, b))).toBe('AMOUNT_OVERFLOW');
        } else {
          const sum = addAmount(a, b);
          expect(sum).toBe(exact);
          expect(subAmount(sum, b)).toBe(a);
          expect(subAmount(sum, a)).toBe(b);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('subAmount equals the bigint difference, or throws AMOUNT_NEGATIVE exactly when it goes below zero; a - b + b === a', () => {
    fc.assert(
      fc.property(amountArb, amountArb, (a, b) => {
        if (b > a) {
          expect(errorCode(() => subAmount(a, b))).toBe('AMOUNT_NEGATIVE');
        } else {
          const difference = subAmount(a, b);
          expect(difference).toBe(a - b);
          expect(addAmount(difference, b)).toBe(a);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('splitting a total into parts and summing them back loses no micro-unit', () => {
    fc.assert(
      fc.property(amountArb, fc.array(fc.bigInt({ min: 0n, max: 1n << 62n }), { maxLength: 20 }), (total, cuts) => {
        let rest = total;
        const parts: Amount[] = [];
        for (const cut of cuts) {
          const part = minAmount(rest, amount(cut));
          parts.push(part);
          rest = subAmount(rest, part);
        }
        parts.push(rest);
        expect(sumAmounts(parts)).toBe(total);
        expect(parts.map(formatAmount).map(parseAmount).reduce((x, y) => x + y, 0n)).toBe(total);
      }),
    );
  });

  it('sumAmounts equals the bigint sum or throws AMOUNT_OVERFLOW when it leaves u64', () => {
    fc.assert(
      fc.property(fc.array(amountArb, { maxLength: 6 }), (list) => {
        const exact = list.reduce((x, y) => x + y, 0n);
        // Every prefix sum is at most the total, so the only way to overflow is a total past u64.
        if (exact > U64_MAX) expect(errorCode(() => sumAmounts(list))).toBe('AMOUNT_OVERFLOW');
        else expect(sumAmounts(list)).toBe(exact);
      }),
    );
  });
});
