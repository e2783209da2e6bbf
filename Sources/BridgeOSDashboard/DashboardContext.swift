import BridgeOSStorage
import BridgeOSWeb
import Hummingbird
import HummingbirdAuth
import NIOCore

/// What a dashboard session holds: the signed-in account and the session's CSRF token (every form carries it).
public struct DashboardSession: Codable, Sendable, Equatable {
    public var account: Int64
    public var csrf: String
}

/// The signed-in admin.
public struct DashboardAdmin: Sendable, Equatable {
    public let id: Int64
    public let username: String
}

/// The request context under `/admin`: hummingbird-auth's sessions and identity, plus the client's address.
public struct DashboardContext: ChildRequestContext, SessionRequestContext, AuthRequestContext, RemoteAddressRequestContext {
    public typealias Session = DashboardSession
    public typealias Identity = DashboardAdmin

    public var coreContext: CoreRequestContextStorage
    public let sessions: SessionContext<DashboardSession>
    public var identity: DashboardAdmin?
    public let remoteAddress: SocketAddress?

    public init(context: AppRequestContext) throws {
        coreContext = context.coreContext
        sessions = SessionContext()
        identity = nil
        remoteAddress = context.remoteAddress
    }
}
