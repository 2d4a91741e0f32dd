/*!
 * gateway-viewer.mjs — the viewer library (gateway-viewer.js) as an ES module:
 *
 *   import { GatewayViewer } from "https://push.example.com/demo/gateway-viewer.mjs";
 *   const viewer = GatewayViewer.connect(url, { io, channels: ["show-42"] });
 *
 * One source: this module runs gateway-viewer.js, which defines globalThis.GatewayViewer as it does for a plain
 * script, and exports that. socket.io-client's io is the `io` option (e.g. from socket.io-client's ESM build), else the
 * global io of socket.io.min.js loaded as a plain script. A module is fetched with CORS: from a page on another origin,
 * that origin must be in the gateway's Gateway:Cors:Origins.
 */
import "./gateway-viewer.js";

export const GatewayViewer = globalThis.GatewayViewer;
export default GatewayViewer;
