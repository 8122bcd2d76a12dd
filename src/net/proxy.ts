// The proxy settings of the process (HTTPS_PROXY, HTTP_PROXY, NO_PROXY and their lower-case forms), read
// once from the environment into one object: registry requests go through node's own proxy support in
// their agents (CONNECT tunnels for https, absolute URLs for http), and NO_PROXY hosts are reached directly.
// git reads the same variables itself (libcurl); src/source/git.ts passes them through. See docs/network.md.

/** The variables that configure proxies, as curl and node read them. */
export const PROXY_ENV_NAMES = [
  "HTTPS_PROXY",
  "https_proxy",
  "HTTP_PROXY",
  "http_proxy",
  "ALL_PROXY",
  "all_proxy",
  "NO_PROXY",
  "no_proxy",
] as const;

export type ProxyEnv = Partial<Record<(typeof PROXY_ENV_NAMES)[number], string>>;

/** The set proxy variables of `env` (empty ones left out); the process environment by default. */
export function proxyEnvOf(env: Readonly<Record<string, string | undefined>> = process.env): ProxyEnv {
  const out: ProxyEnv = {};
  for (const name of PROXY_ENV_NAMES) {
    const v = env[name];
    if (v !== undefined && v !== "") out[name] = v;
  }
  return out;
}

let processProxyEnv: ProxyEnv | undefined;

/** The process's proxy settings, read on first use (the agents are made once). */
export function processProxy(): ProxyEnv {
  processProxyEnv ??= proxyEnvOf();
  return processProxyEnv;
}
