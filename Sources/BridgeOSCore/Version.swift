/// The BridgeOS release this binary was built from.
public enum BridgeOSVersion {
    public static let current = "0.1.0"
}
