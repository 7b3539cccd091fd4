import { describe, expect, it } from 'vitest';
import { add, dec, div, mul, toPlain, toShort, toStep } from './decimal';
import { formatDecimal, formatMoney, formatPercent } from './format';

describe('decimal maths', () => {
  it('is exact where floats are not', () => {
    expect(toShort(add(dec('0.1'), dec('0.2')))).toBe('0.3');
    expect(toShort(mul(dec('1.1'), dec('1.1')))).toBe('1.21');
    expect(toPlain(div(dec('1'), dec('3'), 8))).toBe('0.33333333');
  });
  it('rounds to steps as asked', () => {
    expect(toShort(toStep(dec('0.123456'), dec('0.001'), 'floor'))).toBe('0.123');
    expect(toShort(toStep(dec('0.123456'), dec('0.001'), 'ceil'))).toBe('0.124');
    expect(toShort(toStep(dec('0.1235'), dec('0.001'), 'nearest'))).toBe('0.124');
  });
});

describe('formatting decimal strings', () => {
  it('groups thousands and trims trailing zeros', () => {
    expect(formatDecimal('95000.10000000')).toBe('95,000.1');
    expect(formatDecimal('1234567.5', { min: 2 })).toBe('1,234,567.50');
  });
  it('rounds half up at the maximum decimals without floats', () => {
    expect(formatDecimal('0.123456789', { max: 8 })).toBe('0.12345679');
    expect(formatDecimal('9999999999999999.995', { max: 2 })).toBe('10,000,000,000,000,000');
  });
  it('keeps the sign of a loss', () => {
    expect(formatMoney('-12.5')).toBe('−12.50');
    expect(formatMoney('-0.000')).toBe('0.00');
  });
  it('shows what is missing as a dash and ratios as percentages', () => {
    expect(formatDecimal(null)).toBe('—');
    expect(formatPercent('0.6667')).toBe('66.67%');
  });
});
