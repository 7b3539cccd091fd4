import { describe, expect, it } from 'vitest';
import { ApiError, mapErrors, toApiError } from './problem';

const invalid = new ApiError(422, {
  type: 'urn:tradebot:problem:invalid-input',
  title: 'Invalid input',
  status: 422,
  detail: 'quantity: must be a multiple of the step size 0.00001; nearest valid: 0.00123',
  errors: [{ field: 'quantity', message: 'must be a multiple of the step size 0.00001; nearest valid: 0.00123' }],
});

describe('mapping problems to fields', () => {
  it('puts a field error next to the field it names', () => {
    expect(mapErrors(invalid, ['quantity', 'price'])).toEqual({
      fields: { quantity: 'must be a multiple of the step size 0.00001; nearest valid: 0.00123' },
      form: null,
    });
  });
  it('gives the form the detail when the named field is not on it', () => {
    expect(mapErrors(invalid, ['price']).form).toMatch(/quantity: must be/);
  });
  it('gives the form the detail of a problem without field errors', () => {
    const paused = new ApiError(409, { type: 'urn:tradebot:problem:trading-paused', title: 'Paused', status: 409, detail: 'Trading is paused' });
    expect(mapErrors(paused, ['quantity'])).toEqual({ fields: {}, form: 'Trading is paused' });
    expect(paused.kind).toBe('trading-paused');
  });
  it('explains a failure without a problem body', () => {
    expect(toApiError(0, null).message).toMatch(/could not be reached/);
    expect(toApiError(502, '<html>').problem.title).toBe('Request failed (502)');
  });
});
