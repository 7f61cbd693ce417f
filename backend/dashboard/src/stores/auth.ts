/** Who is logged in: tokens (kept in localStorage so a reload stays signed in) and role. */
import { create } from "zustand";
import { persist } from "zustand/middleware";
import type { Role } from "../types";

interface TokenPair {
  access_token: string;
  refresh_token: string;
}

export interface AuthState {
  access: string | null;
  refreshToken: string | null;
  username: string | null;
  role: Role | null;
  login: (username: string, password: string) => Promise<void>;
  refresh: () => Promise<boolean>;
  logout: () => void;
}

/** The role claim of a JWT (the server re-checks it on every request). */
export function roleOf(token: string): Role | null {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return (payload.role as Role) ?? null;
  } catch {
    return null;
  }
}

export const canEdit = (role: Role | null): boolean => role === "operator" || role === "admin";

export const useAuth = create<AuthState>()(
  persist(
    (set, get) => ({
      access: null,
      refreshToken: null,
      username: null,
      role: null,
      async login(username, password) {
        const res = await fetch("/api/auth/login", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ username, password }),
        });
        if (!res.ok) {
          throw new Error(res.status === 429 ? "Too many failed attempts; wait a minute" : "Invalid username or password");
        }
        const pair = (await res.json()) as TokenPair;
        set({
          access: pair.access_token,
          refreshToken: pair.refresh_token,
          username,
          role: roleOf(pair.access_token),
        });
      },
      async refresh() {
        const token = get().refreshToken;
        if (!token) return false;
        const res = await fetch("/api/auth/refresh", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: token }),
        });
        if (!res.ok) return false;
        const pair = (await res.json()) as TokenPair;
        set({ access: pair.access_token, refreshToken: pair.refresh_token, role: roleOf(pair.access_token) });
        return true;
      },
      logout() {
        set({ access: null, refreshToken: null, username: null, role: null });
      },
    }),
    { name: "edgeqi-auth" },
  ),
);
