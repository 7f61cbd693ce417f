/** Fetch wrapper: adds the bearer token, refreshes it once on 401, throws ApiError otherwise. */
import { useAuth } from "./stores/auth";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

async function detail(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { detail?: unknown };
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch {
    return res.statusText;
  }
}

/** A raw authenticated request (used for downloads as well as JSON). */
export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const send = () => {
    const token = useAuth.getState().access;
    const headers = new Headers(init.headers);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (init.body && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
    return fetch(path, { ...init, headers });
  };
  let res = await send();
  if (res.status === 401 && (await useAuth.getState().refresh())) res = await send();
  if (res.status === 401) useAuth.getState().logout();
  if (!res.ok) throw new ApiError(res.status, await detail(res));
  return res;
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await request(path, init);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Query string from defined, non-empty values only. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") out.set(k, String(v));
  }
  const s = out.toString();
  return s ? `?${s}` : "";
}
