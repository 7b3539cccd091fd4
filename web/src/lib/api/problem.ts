/** RFC 9457 problems from the API, as errors the UI shows next to the field they name. */
import type { components } from './schema';

type Documented = components['schemas']['Problem'];
/** A problem as it arrives: the extension members are absent unless they apply. */
export type Problem = Omit<Documented, 'errors' | 'open_orders'> &
  Partial<Pick<Documented, 'errors' | 'open_orders'>>;

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    super(problem.detail || problem.title);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }

  /** The problem's type without the `urn:tradebot:problem:` prefix, e.g. `trading-paused`. */
  get kind(): string {
    return this.problem.type.replace(/^urn:tradebot:problem:/, '');
  }
}

const GENERIC: Problem = {
  type: 'about:blank',
  title: 'Something went wrong',
  status: 0,
  detail: 'The server could not be reached. Check your connection and try again.',
};

/** Whatever a failed call gave (a problem body, something else, nothing) as an ApiError. */
export function toApiError(status: number, body: unknown): ApiError {
  if (body && typeof body === 'object' && 'detail' in body && 'title' in body) {
    return new ApiError(status, body as Problem);
  }
  const title = status ? `Request failed (${status})` : GENERIC.title;
  return new ApiError(status, { ...GENERIC, status, title, detail: status ? title : GENERIC.detail });
}

export interface ErrorMap {
  /** Messages by the field they name (the API's `errors[].field`, else the field in `detail`). */
  fields: Record<string, string>;
  /** What is left for the form as a whole. */
  form: string | null;
}

/**
 * Where each message of a failed call goes: `errors[]` entries to their field, a
 * limit-exceeded problem to the limit it names, the rest (or a field this form does not show)
 * to the form.
 */
export function mapErrors(error: unknown, shownFields: readonly string[]): ErrorMap {
  if (!error) return { fields: {}, form: null };
  if (!(error instanceof ApiError)) {
    return { fields: {}, form: error instanceof Error ? error.message : String(error) };
  }
  const fields: Record<string, string> = {};
  const unplaced: string[] = [];
  for (const item of error.problem.errors ?? []) {
    const field = item.field.replace(/^body\./, '');
    if (shownFields.includes(field)) {
      fields[field] = fields[field] ? `${fields[field]}; ${item.message}` : item.message;
    } else {
      unplaced.push(field ? `${field}: ${item.message}` : item.message);
    }
  }
  const placed = Object.keys(fields).length > 0;
  let form: string | null = null;
  if (!placed || unplaced.length) {
    form = unplaced.length && placed ? unplaced.join('; ') : error.problem.detail;
  }
  return { fields, form };
}
