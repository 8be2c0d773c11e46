/** The page's one API connection, created on first use so that stores can share it. */
import { ApiError, type Api, type ApiErrorCode } from '../../../shared/api.ts';
import { connectApi, type ApiConnection } from '../api/index.ts';

let connection: ApiConnection | null = null;

/** The connection (Electron or served), created on first call. */
export function apiConnection(): ApiConnection {
  connection ??= connectApi();
  return connection;
}

/** The typed API. */
export function api(): Api {
  return apiConnection().api;
}

/** A readable message from anything thrown by an API call (ApiErrors, plain `{ code, message }`, Errors). */
export function errorMessage(error: unknown): string {
  return ApiError.from(error).message;
}

/** The contract's error code of anything thrown by an API call (`engine` for errors without one). */
export function errorCode(error: unknown): ApiErrorCode {
  return ApiError.from(error).code;
}
