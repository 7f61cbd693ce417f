/** Sign in with a backend user; the role in the token decides what the UI lets you edit. */
import { useState, type FormEvent } from "react";
import { ThemeButton } from "../components/ThemeButton";
import { useAuth } from "../stores/auth";

export function Login() {
  const login = useAuth((s) => s.login);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username, password);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login-wrap">
      <ThemeButton className="theme-button login-theme" />
      <form className="login" onSubmit={submit}>
        <h1>EDGE-QI</h1>
        <label>
          Username
          <input autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error ? <div className="error-box" role="alert">{error}</div> : null}
        <button type="submit" disabled={busy || !username || !password}>
          Sign in
        </button>
      </form>
    </div>
  );
}
