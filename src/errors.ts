/**
 * One error class for everything the API answers with; the error middleware turns it (and
 * database errors, by SQLSTATE) into `{"error": {code, message, details}}`.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** 400 with one message per bad field: `{fields: {name: message}}`. */
export function invalid(fields: Record<string, string>, message = 'invalid input'): AppError {
  return new AppError(400, 'validation_failed', message, { fields });
}

export function badRequest(code: string, message: string, details?: Record<string, unknown>): AppError {
  return new AppError(400, code, message, details);
}

export function notFound(what: string, id?: unknown): AppError {
  const message = id === undefined ? `${what} not found` : `${what} ${String(id)} not found`;
  return new AppError(404, 'not_found', message, id === undefined ? undefined : { resource: what, id });
}

export function conflict(message: string, details?: Record<string, unknown>): AppError {
  return new AppError(409, 'conflict', message, details);
}

export function unauthorized(message = 'a valid bearer token is required'): AppError {
  return new AppError(401, 'unauthorized', message);
}

export function forbidden(message = 'this action needs the admin role'): AppError {
  return new AppError(403, 'forbidden', message);
}
