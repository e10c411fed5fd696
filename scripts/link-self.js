#!/usr/bin/env node
// Makes `require("pulumi-cloudiway/...")` resolve inside this repository too (the
// root project, tests, examples without their own install): the serialized
// dynamic provider loads its implementation by package name from the program's
// working directory. npm does not link a package into its own node_modules.
const fs = require("fs");
const path = require("path");
const root = path.resolve(__dirname, "..");
const link = path.join(root, "node_modules", "pulumi-cloudiway");
try {
    const st = fs.lstatSync(link);
    if (st.isSymbolicLink() && path.resolve(path.dirname(link), fs.readlinkSync(link)) === root) process.exit(0);
    fs.rmSync(link, { recursive: true, force: true });
} catch { /* absent */ }
fs.mkdirSync(path.dirname(link), { recursive: true });
fs.symlinkSync("..", link, "dir");
