/**
 * Headless Chromium for the browser tests: Debian's `chromium` package at
 * /usr/bin/chromium, installed by scripts/install-browser.sh when missing (the
 * tests call it, so a fresh CI machine gets it through the project's own
 * scripts), driven by playwright-core. Never skips silently: if the browser
 * cannot be had, the test fails with the script's error. Outside CI,
 * CLOUDIWAY_SKIP_BROWSER_TESTS=1 opts out explicitly (with a warning).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Browser } from "playwright-core";
import { REPO } from "./engine";

export function skipBrowserTests(): boolean {
    return process.env.CLOUDIWAY_SKIP_BROWSER_TESTS === "1" && !process.env.CI;
}

/** Runs scripts/install-browser.sh (a no-op when the browser is there); the browser's path. */
export function chromiumPath(): string {
    let out: string;
    try {
        out = execFileSync("bash", [path.join(REPO, "scripts", "install-browser.sh")], {
            cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 20 * 60 * 1000,
        });
    } catch (e: any) {
        throw new Error(`Chromium is not available and scripts/install-browser.sh could not install it ` +
            `(exit ${e.status ?? "?"}): ${String(e.stderr ?? e.message).trim()}. Browser tests do not skip.`);
    }
    const lines = out.trim().split("\n");
    return lines[lines.length - 1].trim();
}

export async function launchChromium(): Promise<Browser> {
    const { chromium } = await import("playwright-core");
    return chromium.launch({ executablePath: chromiumPath(), headless: true });
}

/** A fresh folder for a test's screenshots: test-output/<suite>/<test>/ (gitignored). */
export function outputDir(suite: string, test: string): string {
    const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 80);
    const dir = path.join(REPO, "test-output", slug(suite), slug(test));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    return dir;
}
