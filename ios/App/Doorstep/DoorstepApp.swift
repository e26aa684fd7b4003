// The iPhone app's entry: registers the background sync tasks, opens the store (shared with those tasks) with the
// Keychain key, then shows sign-in or the tabs.
import DoorstepAppLogic
import DoorstepKit
import SwiftUI
import UIKit

@main
struct DoorstepApp: App {
    @StateObject private var session = AppSession()
    @Environment(\.scenePhase) private var scenePhase

    init() {
        // BGTaskScheduler requires the handlers before launch finishes.
        BackgroundSyncTasks.shared.register()
    }

    var body: some Scene {
        WindowGroup {
            Group {
                if let client = session.client {
                    if session.signedIn {
                        MainTabs(client: client, user: session.user)
                    } else {
                        NavigationView {
                            LoginView(model: LoginModel(client: client)) { info in session.didSignIn(info) }
                        }
                    }
                } else if let message = session.error {
                    Text(message).padding()
                } else {
                    ProgressView(L10n.text(.unlocking))
                }
            }
            .task { await session.open() }
        }
        .onChange(of: scenePhase) { phase in
            // The app's own sync stops in the background: waiting work goes to a background task.
            if phase == .background { Task { await session.handOver(.leftForeground) } }
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
    /// Kept for the app's lifetime: dropping it would stop the in-app sync.
    private var background: BackgroundSync?

    func open() async {
        guard client == nil else { return }
        do {
            let opened = try await AppStore.open()
            let status = try await opened.syncStatus()
            client = opened
            user = status.user ?? ""
            signedIn = status.user != nil
            background = try await opened.startBackgroundSync()
            BackgroundSyncTasks.shared.controller.started(signedIn: signedIn)
            BackgroundSyncTasks.shared.onNetworkChange = { [weak self] online in
                Task { @MainActor in
                    try? await opened.setOnline(online)
                    if !online { await self?.handOver(.networkLost) }
                }
            }
        } catch {
            self.error = "\(L10n.text(.openFailed)): \(uiText(error).text)"
        }
    }

    func didSignIn(_ info: LoginInfo) {
        user = info.user
        signedIn = true
        BackgroundSyncTasks.shared.controller.signedIn()
        BackgroundSyncTasks.shared.requestNotifications()
    }

    /// Hands work still waiting to a background task when the app stops syncing by itself.
    func handOver(_ trigger: Trigger) async {
        guard signedIn, let client, let status = try? await client.syncStatus() else { return }
        BackgroundSyncTasks.shared.controller.appStopsSyncing(trigger, pendingChanges: status.pending,
                                                          pendingBlobs: status.pendingBlobs)
    }
}

struct MainTabs: View {
    let client: DoorstepClient
    let user: String

    var body: some View {
        TabView {
            NavigationView { DueListView(model: DueListModel(client: client), client: client, user: user) }
                .tabItem { Label(L10n.text(.today), systemImage: "checklist") }
            NavigationView { HouseholdListView(model: HouseholdListModel(client: client), client: client, user: user) }
                .tabItem { Label(L10n.text(.households), systemImage: "house") }
            NavigationView {
                SyncView(model: SyncModel(client: client,
                                          allowMetered: UserDefaults.standard.bool(forKey: BackgroundSyncTasks.allowMeteredKey)),
                         client: client)
            }
            .tabItem { Label(L10n.text(.sync), systemImage: "arrow.triangle.2.circlepath") }
        }
    }
}
