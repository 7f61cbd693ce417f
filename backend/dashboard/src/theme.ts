/**
 * Light or dark: the system's choice (prefers-color-scheme) until the user picks one,
 * which is kept in localStorage. The effective theme is set on <html> as data-theme,
 * which the stylesheet's colour variables follow (styles.css).
 */
import { create } from "zustand";

export type ThemeChoice = "system" | "light" | "dark";
export type Theme = "light" | "dark";
export const THEME_KEY = "edgeqi-theme";

const query = () => (typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null);

export function storedChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(THEME_KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

export function effective(choice: ThemeChoice, systemDark = query()?.matches ?? false): Theme {
  return choice === "system" ? (systemDark ? "dark" : "light") : choice;
}

function apply(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
}

interface ThemeState {
  choice: ThemeChoice;
  theme: Theme;
  choose: (c: ThemeChoice) => void;
  /** The other theme, chosen explicitly (the navigation's toggle). */
  toggle: () => void;
}

export const useTheme = create<ThemeState>()((set, get) => ({
  choice: storedChoice(),
  theme: effective(storedChoice()),
  choose(choice) {
    try {
      if (choice === "system") localStorage.removeItem(THEME_KEY);
      else localStorage.setItem(THEME_KEY, choice);
    } catch {
      // storage refused (private mode): the choice lasts for this page only
    }
    const theme = effective(choice);
    apply(theme);
    set({ choice, theme });
  },
  toggle() {
    get().choose(get().theme === "dark" ? "light" : "dark");
  },
}));

/** Apply the stored choice now (before the first render) and follow the system's. */
export function startTheme(): void {
  apply(useTheme.getState().theme);
  query()?.addEventListener("change", (e) => {
    const { choice } = useTheme.getState();
    if (choice !== "system") return;
    const theme = effective("system", e.matches);
    apply(theme);
    useTheme.setState({ theme });
  });
}
