import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const UI_ENTRY = join(dirname(fileURLToPath(import.meta.url)), "../ui/main.tsx");

/** The browser UI: one script and one stylesheet, with a digest for the URLs (cache busting). */
export interface UiBundle {
  js: string;
  css: string;
  digest: string;
}

/** The page every UI route answers with; the script renders the rest. */
export function indexHtml(bundle: UiBundle): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Prism admin</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.${bundle.digest}.css">
<script type="module" src="/assets/app.${bundle.digest}.js"></script>
</head>
<body><div id="app"></div></body>
</html>
`;
}

/**
 * Bundles `admin/ui/main.tsx` (Preact, uPlot and the UI's TypeScript) with esbuild, once, on the
 * first page load: no build step, and a gateway whose UI nobody opens never loads esbuild.
 *
 * @example const ui = new UiBuilder(); (await ui.get()).js
 */
export class UiBuilder {
  private bundle: Promise<UiBundle> | undefined;

  get(): Promise<UiBundle> {
    this.bundle ??= build();
    this.bundle.catch(() => {
      this.bundle = undefined;
    });
    return this.bundle;
  }
}

async function build(): Promise<UiBundle> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [UI_ENTRY],
    bundle: true,
    write: false,
    outdir: "/ui",
    format: "esm",
    target: ["es2022"],
    minify: true,
    jsx: "automatic",
    jsxImportSource: "preact",
    loader: { ".css": "css" },
    legalComments: "none",
    logLevel: "silent",
  });
  const text = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? "";
  const js = text(".js");
  const css = text(".css");
  const digest = createHash("sha256").update(js).update(css).digest("hex").slice(0, 16);
  return { js, css, digest };
}
