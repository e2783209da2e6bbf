import Hummingbird
import NIOCore

/// The request context of the appliance's HTTP server: Hummingbird's basic one plus the peer's address (the
/// dashboard's login limits count attempts per client).
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
