import BridgeOSCLI

/// The `bridgeos` executable: everything lives in BridgeOSCLI and the libraries below it.
@main
enum BridgeOSMain {
    static func main() async {
        await BridgeOSCommand.main()
    }
}
