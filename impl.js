// Entry point the serialized provider shim loads (see provider/resources/shim.ts).
module.exports = require("./dist/provider/resources/impl");
