/**
 * The client went away before its request was complete: nothing was reserved or forwarded, and there is no one
 * to answer. Expected, so never an internal error (app.ts logs it at info with nginx's 499).
 */
export class ClientClosedRequest extends Error {
  constructor() {
    super("the client closed the connection before the request was complete");
    this.name = "ClientClosedRequest";
  }
}
