// eslint.config.js: typescript-eslint's recommended rules plus the import-direction rule that keeps
// the engine independent of translator and sources (ARCHITECTURE.md, "Imports go one way").
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".cache/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    // The console's modules run in the browser, as they are (no build step): the browser globals
    // they use, listed (no Node globals there, and no extra package for the full list).
    files: ["src/ui/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: Object.fromEntries(
        [
          "window",
          "document",
          "location",
          "sessionStorage",
          "fetch",
          "URLSearchParams",
          "FormData",
          "Node",
          "Element",
          "HTMLElement",
          "HTMLInputElement",
          "HTMLFormElement",
          "Event",
        ].map((g) => [g, "readonly"]),
      ),
    },
  },
  {
    files: ["src/model/**"],
    rules: { "no-restricted-imports": ["error", { patterns: ["../*"] }] },
  },
  {
    files: ["src/engine/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: ["**/translate/**", "**/sources/**", "**/k8s/**", "**/ipam/**", "**/controller/**"] },
      ],
    },
  },
  {
    files: ["src/translate/**", "src/ipam/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            "**/engine/**",
            "**/sources/**",
            "**/controller/**",
            "node:fs*",
            "node:net",
            "node:http*",
          ],
        },
      ],
    },
  },
);
