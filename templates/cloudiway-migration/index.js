"use strict";
// Deploys plan.yaml (or the file named by the stack config cloudiway-migration:planFile): its
// batches, users, settings and runs. The plan's format: node_modules/pulumi-cloudiway/docs/getting-started.md,
// "A plan as data". Credentials: the stack config cloudiway:apiUrl, cloudiway:consumerKey and
// cloudiway:consumerSecret (a secret), or CLOUDIWAY_API_URL, CLOUDIWAY_CONSUMER_KEY, CLOUDIWAY_CONSUMER_SECRET.
const { planProgram } = require("pulumi-cloudiway");

module.exports = () => planProgram({ root: __dirname });
