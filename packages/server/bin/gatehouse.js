#!/usr/bin/env node
// Shim committed to git so that npm can link the `gatehouse` bin before the build has run.
import '../dist/src/cli/index.js';
