// The iPhone app's entry: unlocks the store with the Keychain key, then shows login or the tabs.
import DoorstepAppLogic
import DoorstepKit
import SwiftUI
import UIKit

@main
struct DoorstepApp: App {
    @StateObject private var session = AppSession()

    var body: some Scene {
        WindowGroup {
            Group {
                if let client = session.client {
                    if session.signedIn {
                        MainTabs(client: client, user: session.user)
                    } else {
                        LoginView(model: LoginModel(client: client)) { info in session.didSignIn(info) }
                    }
                } else if let message = session.error {
                    Text(message).padding()
                } else {
                    ProgressView("正在解锁 / Unlocking")
                }
            }
            .task { await session.open() }
        }
    }
}

/// The opened store and who is signed in; the store key lives in the Keychain, never in files or defaults.
@MainActor
final class AppSession: ObservableObject {
    @Published private(set) var client: DoorstepClient?
    @Published private(set) var signedIn = false
    @Published private(set) var user = ""
    @Published private(set) var error: String?
    /// Kept for the app's lifetime: dropping it would stop the background sync.
    private var background: BackgroundSync?

    func open() async {
        guard client == nil else { return }
        do {
            let dir = try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask,
                                                  appropriateFor: nil, create: true)
            let key = try KeychainKey.load(account: "doorstep-store")
            let opened = try await DoorstepClient.open(path: dir.appendingPathComponent("doorstep.db"), key: key,
                                                       deviceName: UIDevice.current.name)
            let status = try await opened.syncStatus()
            client = opened
            user = status.user ?? ""
            signedIn = status.user != nil
            background = try await opened.startBackgroundSync()
        } catch {
            self.error = "无法打开数据 / The data could not be opened: \(error)"
        }
    }

    func didSignIn(_ info: LoginInfo) {
        user = info.user
        signedIn = true
    }
}

struct MainTabs: View {
    let client: DoorstepClient
    let user: String

    var body: some View {
        TabView {
            NavigationView { DueListView(model: DueListModel(client: client), client: client, user: user) }
                .tabItem { Label("今日待访", systemImage: "checklist") }
            NavigationView { HouseholdListView(model: HouseholdListModel(client: client), client: client, user: user) }
                .tabItem { Label("农户", systemImage: "house") }
            NavigationView { SyncView(model: SyncModel(client: client)) }
                .tabItem { Label("同步", systemImage: "arrow.triangle.2.circlepath") }
        }
    }
}
