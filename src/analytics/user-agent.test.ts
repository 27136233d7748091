import { test } from "node:test";
import assert from "node:assert/strict";
import { parseUserAgent } from "./user-agent.ts";

// Real headers as the clients send them (browser release notes, crawler documentation, the tools'
// own defaults). Each row: header, browser family, OS.
const CASES: readonly [string, string, string][] = [
  // Chrome on each OS; Chrome says "Safari/" too, so Chrome must win over Safari.
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Chrome",
    "Windows",
  ],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Chrome",
    "macOS",
  ],
  [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Chrome",
    "Linux",
  ],
  [
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Chrome",
    "Android",
  ],
  // ChromeOS says "X11" and "Linux"-free CrOS; it must not read as Linux.
  [
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Chrome",
    "ChromeOS",
  ],
  // Chrome on iOS is CriOS and says "like Mac OS X": iOS before macOS.
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    "Chrome",
    "iOS",
  ],
  // Edge and Opera say Chrome and Safari: they must come first.
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
    "Edge",
    "Windows",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582",
    "Edge",
    "Windows",
  ],
  [
    "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36 EdgA/131.0.2903.68",
    "Edge",
    "Android",
  ],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15",
    "Edge",
    "iOS",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
    "Opera",
    "Windows",
  ],
  ["Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18", "Opera", "Windows"],
  [
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    "Samsung Internet",
    "Android",
  ],
  // Firefox, including on iOS (FxiOS, WebKit) and Android.
  ["Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox", "Windows"],
  ["Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox", "macOS"],
  ["Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox", "Linux"],
  ["Mozilla/5.0 (Android 15; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "Firefox", "Android"],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
    "Firefox",
    "iOS",
  ],
  // Safari: desktop, iPhone, iPad (iPadOS 13+ asks for desktop sites and says Macintosh: macOS is
  // what the header claims, and what we report).
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Safari",
    "macOS",
  ],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Safari",
    "iOS",
  ],
  [
    "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
    "Safari",
    "iOS",
  ],
  // An iOS app's web view: WebKit, "Mobile/", no Safari token.
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Safari",
    "iOS",
  ],
  ["Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer", "Windows"],
  // Windows Phone claims Android too: Windows first.
  [
    "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.14977",
    "Edge",
    "Windows",
  ],
  // Programmatic clients.
  ["curl/8.11.1", "curl", "Other"],
  ["Wget/1.21.4", "Wget", "Other"],
  ["Go-http-client/1.1", "Go-http-client", "Other"],
  ["Go-http-client/2.0", "Go-http-client", "Other"],
  ["python-requests/2.32.3", "python-requests", "Other"],
  ["Python-urllib/3.12", "Python-urllib", "Other"],
  ["okhttp/4.12.0", "okhttp", "Other"],
  ["grpc-go/1.68.0", "grpc-go", "Other"],
  ["grpc-java-netty/1.68.1", "grpc-java", "Other"],
  ["grpc-node-js/1.12.2", "grpc-node-js", "Other"],
  ["grpc-python/1.68.0 grpc-c/44.0.0 (linux; chttp2)", "grpc-python", "Linux"],
  ["Apache-HttpClient/4.5.14 (Java/17.0.9)", "Apache-HttpClient", "Other"],
  ["Java-http-client/21.0.5", "Java", "Other"],
  ["axios/1.7.9", "axios", "Other"],
  ["node", "Node.js", "Other"],
  ["PostmanRuntime/7.43.0", "Postman", "Other"],
  ["HTTPie/3.2.4", "HTTPie", "Other"],
  ["kube-probe/1.31", "kube-probe", "Other"],
  ["Prometheus/2.55.1", "Prometheus", "Other"],
  // Crawlers: Googlebot's smartphone header says Android, Chrome and Safari; the bot wins.
  [
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Googlebot",
    "Android",
  ],
  ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot", "Other"],
  [
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
    "Bingbot",
    "Other",
  ],
  ["Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "YandexBot", "Other"],
  ["DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "DuckDuckBot", "Other"],
  [
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "GPTBot",
    "Other",
  ],
  ["facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "Facebook", "Other"],
  ["Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot", "Other"],
  ["Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)", "Bot", "Other"],
  // Nothing we know.
  ["", "Other", "Other"],
  ["Mozilla/5.0", "Other", "Other"],
  ["my-own-client", "Other", "Other"],
];

test("parseUserAgent names the family and OS of real headers, with precedence", () => {
  const wrong: string[] = [];
  for (const [ua, browser, os] of CASES) {
    const got = parseUserAgent(ua);
    if (got.browser !== browser || got.os !== os)
      wrong.push(`${JSON.stringify(ua)}: got ${got.browser}/${got.os}, want ${browser}/${os}`);
  }
  assert.deepEqual(wrong, []);
});

test("parseUserAgent answers the same from its cache, and survives its clearing", () => {
  const ua = CASES[0]![0];
  const a = parseUserAgent(ua);
  for (let i = 0; i < 1_500; i++) parseUserAgent(`client-${i}`);
  assert.deepEqual(parseUserAgent(ua), a);
  assert.deepEqual(parseUserAgent(ua), { browser: "Chrome", os: "Windows" });
});
