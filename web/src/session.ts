// The signed-in user's tokens and name, kept for this tab only (sessionStorage): closing the tab logs out.

const ACCESS = "lc.access";
const REFRESH = "lc.refresh";
const USERNAME = "lc.username";

export interface Tokens {
  access: string;
  refresh: string;
}

export const session = {
  tokens(): Tokens | null {
    const access = sessionStorage.getItem(ACCESS);
    const refresh = sessionStorage.getItem(REFRESH);
    return access && refresh ? { access, refresh } : null;
  },
  signedIn(): boolean {
    return this.tokens() !== null;
  },
  username(): string {
    return sessionStorage.getItem(USERNAME) ?? "";
  },
  start(tokens: Tokens, username: string): void {
    sessionStorage.setItem(ACCESS, tokens.access);
    sessionStorage.setItem(REFRESH, tokens.refresh);
    sessionStorage.setItem(USERNAME, username);
  },
  setAccess(access: string): void {
    sessionStorage.setItem(ACCESS, access);
  },
  end(): void {
    for (const key of [ACCESS, REFRESH, USERNAME]) sessionStorage.removeItem(key);
  },
};
