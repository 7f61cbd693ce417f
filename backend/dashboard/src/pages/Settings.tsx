/** Site settings (saved on the server; operators and admins only) and this user's layout. */
import { useEffect, useState, type FormEvent } from "react";
import { useSettings } from "../stores/settings";
import { defaultLayout } from "../stores/settings";
import { useTheme, type ThemeChoice } from "../theme";
import type { SiteSettings } from "../types";

export default function Settings() {
  const { site, canEditSite, saveSite, savePrefs } = useSettings();
  const [draft, setDraft] = useState<SiteSettings>(site);
  const [message, setMessage] = useState<string | null>(null);
  const choice = useTheme((t) => t.choice);
  const choose = useTheme((t) => t.choose);
  useEffect(() => setDraft(site), [site]);
  const set = <K extends keyof SiteSettings>(k: K, v: SiteSettings[K]) => setDraft({ ...draft, [k]: v });

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      await saveSite(draft);
      setMessage("Saved.");
    } catch (err) {
      setMessage(`Not saved: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  return (
    <div>
      <h2>Settings</h2>
      {!canEditSite ? <p className="note">Viewers can read the site settings but not change them.</p> : null}
      <form className="rule-form" onSubmit={submit}>
        <fieldset disabled={!canEditSite}>
          <label>site name <input aria-label="site name" value={draft.site_name} onChange={(e) => set("site_name", e.target.value)} /></label>
          <label>default analytics range (min) <input aria-label="default range" type="number" min={1} value={draft.default_range_min} onChange={(e) => set("default_range_min", Number(e.target.value))} /></label>
          <label>points kept on live charts <input aria-label="live points" type="number" min={10} max={2000} value={draft.live_points} onChange={(e) => set("live_points", Number(e.target.value))} /></label>
          <label>status poll (s) <input aria-label="status poll" type="number" min={1} value={draft.status_poll_s} onChange={(e) => set("status_poll_s", Number(e.target.value))} /></label>
          <label>low battery threshold <input aria-label="low battery" type="number" step="0.05" min={0} max={1} value={draft.low_battery_soc} onChange={(e) => set("low_battery_soc", Number(e.target.value))} /></label>
          <button type="submit">Save settings</button>
        </fieldset>
      </form>
      {message ? <p role="status">{message}</p> : null}
      <h3>Appearance (this browser)</h3>
      <label className="check">
        theme{" "}
        <select aria-label="theme" value={choice} onChange={(e) => choose(e.target.value as ThemeChoice)}>
          <option value="system">as the system</option>
          <option value="light">light</option>
          <option value="dark">dark</option>
        </select>
      </label>
      <h3>My overview layout</h3>
      <button onClick={() => void savePrefs({ layout: defaultLayout(), hidden: [] })}>Reset my layout</button>
    </div>
  );
}
