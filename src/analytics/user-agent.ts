// user-agent.ts: a User-Agent header → browser family and operating system, for the request log
// and the top-N lists. Families only, no versions: the values become top-N keys and console
// filters, so their number must stay small. Table-driven; the first row that matches wins, so the
// order of each table IS the precedence. Browsers that build on another name it in their header
// too: Edge and Opera say "Chrome/…" and "Safari/…", Chrome says "Safari/…", iPhones say
// "like Mac OS X", ChromeOS says "X11; CrOS … Linux"; the more specific row therefore comes first.

/** UserAgentInfo is what parseUserAgent finds: a browser (or client, or bot) family and an OS. */
export interface UserAgentInfo {
  browser: string;
  os: string;
}

/** OTHER is the family or OS of a header no row recognises (and of an absent header). */
export const OTHER = "Other";

/** A Row names a family when its pattern matches; `name` may be a function of the match (grpc-*). */
type Row = readonly [pattern: RegExp, name: string | ((m: RegExpExecArray) => string)];

/**
 * BROWSERS in precedence order: crawlers first (Googlebot's header also says "Chrome/… Safari/…"),
 * then programmatic clients (whose tokens are unambiguous), then browsers from the most to the
 * least specific.
 */
const BROWSERS: readonly Row[] = [
  [/Googlebot|Google-InspectionTool|AdsBot-Google|Mediapartners-Google/, "Googlebot"],
  [/bingbot|BingPreview|msnbot/i, "Bingbot"],
  [/Applebot/, "Applebot"],
  [/YandexBot|YandexMobileBot/, "YandexBot"],
  [/Baiduspider/, "Baiduspider"],
  [/DuckDuckBot/, "DuckDuckBot"],
  [/Yahoo! Slurp/, "Yahoo Slurp"],
  [/facebookexternalhit|meta-externalagent/, "Facebook"],
  [/Twitterbot/, "Twitterbot"],
  [/GPTBot|ChatGPT-User|OAI-SearchBot/, "GPTBot"],
  [/ClaudeBot|Claude-User|anthropic-ai/, "ClaudeBot"],
  [/AhrefsBot/, "AhrefsBot"],
  [/SemrushBot/, "SemrushBot"],
  [/kube-probe\//, "kube-probe"],
  [/^curl\//, "curl"],
  [/^Wget\//, "Wget"],
  [/^Go-http-client\//, "Go-http-client"],
  [/^python-requests\//, "python-requests"],
  [/^python-httpx\//, "python-httpx"],
  [/^Python-urllib\//, "Python-urllib"],
  [/^aiohttp\/|Python\/[\d.]+ aiohttp\//, "aiohttp"],
  [/\bokhttp\//i, "okhttp"],
  // gRPC clients name their implementation: grpc-go/1.64.0, grpc-java-netty/1.62.2, grpc-node-js/…
  [/^(grpc-[a-z-]+?)(?:-netty|-okhttp)?\//, (m) => m[1]!],
  [/^Apache-HttpClient\//, "Apache-HttpClient"],
  [/^Java\/|^Java-http-client\//, "Java"],
  [/^axios\//, "axios"],
  [/^node-fetch\b|^undici\b|^node$/, "Node.js"],
  [/^PostmanRuntime\//, "Postman"],
  [/^HTTPie\//, "HTTPie"],
  [/^k6\/|\bk6\/\d/, "k6"],
  [/^Prometheus\//, "Prometheus"],
  [/^Blackbox Exporter\//, "Blackbox Exporter"],
  [/^Wrk|^wrk\b|^hey\/|^ApacheBench\/|^h2load\b/, "Load tester"],
  [/\b(?:Edg|Edge|EdgA|EdgiOS)\//, "Edge"],
  [/\bOPR\/|\bOPiOS\/|\bOpera[ /]/, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\bYaBrowser\//, "Yandex Browser"],
  [/\bVivaldi\//, "Vivaldi"],
  [/\bUCBrowser\//, "UC Browser"],
  [/\bFirefox\/|\bFxiOS\//, "Firefox"],
  [/\bMSIE |\bTrident\//, "Internet Explorer"],
  [/\bChrome\/|\bCriOS\/|\bChromium\//, "Chrome"],
  // WebKit without a Chrome token is Safari, or an iOS app's web view (Safari's engine, no "Safari/").
  [/\bSafari\/|\bAppleWebKit\/.*\bMobile\//, "Safari"],
  // Anything else that says what it is: a crawler we do not list, then an unknown robot.
  [/bot\b|crawler|spider/i, "Bot"],
];

/** OSES in precedence order: Windows Phone says "Android", iOS says "Mac OS X", ChromeOS and Android say "Linux". */
const OSES: readonly Row[] = [
  [/\bWindows\b|\bWin(?:32|64|NT)\b/, "Windows"],
  [/\b(?:iPhone|iPad|iPod)\b|\biOS\b|\bCFNetwork\/.* Darwin\//, "iOS"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bMacintosh\b|\bMac OS X\b|\bmacOS\b/, "macOS"],
  [/\bLinux\b|\bX11\b|\bUbuntu\b|\bFedora\b|\(linux;/, "Linux"],
];

/** first is the name of the first row matching ua, or OTHER. */
function first(rows: readonly Row[], ua: string): string {
  for (const [pattern, name] of rows) {
    const m = pattern.exec(ua);
    if (m) return typeof name === "string" ? name : name(m);
  }
  return OTHER;
}

/** CACHE_MAX bounds the parse cache: a few hundred distinct headers cover most traffic. */
const CACHE_MAX = 1_000;
const cache = new Map<string, UserAgentInfo>();

/** parseUserAgent names ua's browser family and OS ("Other" for what no row knows). */
export function parseUserAgent(ua: string): UserAgentInfo {
  const hit = cache.get(ua);
  if (hit) return hit;
  const info: UserAgentInfo =
    ua === "" ? { browser: OTHER, os: OTHER } : { browser: first(BROWSERS, ua), os: first(OSES, ua) };
  // Cleared whole when full: cheaper than an LRU, and a hostile spread of headers costs a reparse.
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(ua, info);
  return info;
}
