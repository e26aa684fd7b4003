// Attachments of a visit or screening: thumbnails, the full image (fetched on demand), a photo from the camera or
// the library, a scanned form from Files, a signature drawn with the finger (saved as PNG), and removal.
import DoorstepAppLogic
import DoorstepKit
import SwiftUI
import UIKit
import UniformTypeIdentifiers

private func t(_ key: L10nKey) -> String { L10n.text(key) }

/// Small previews of a document's attachments that are on the phone (a household's last visits).
struct Thumbnails: View {
    @StateObject var model: AttachmentsModel

    var body: some View {
        ScrollView(.horizontal, showsIndicators: false) {
            HStack {
                ForEach(model.attachments, id: \.reference.hash) { attachment in
                    Thumbnail(data: model.opened[attachment.reference.hash], kind: attachment.reference.kind)
                }
            }
        }
        .task { await model.refresh() }
    }
}

private struct Thumbnail: View {
    let data: Data?
    let kind: AttachmentKind

    var body: some View {
        Group {
            if let data, let image = UIImage(data: data) {
                Image(uiImage: image).resizable().scaledToFill()
            } else {
                Image(systemName: kind == .signature ? "signature" : "doc").foregroundColor(.secondary)
            }
        }
        .frame(width: 56, height: 56)
        .background(Color(.secondarySystemBackground))
        .clipShape(RoundedRectangle(cornerRadius: 6))
    }
}

struct AttachmentsView: View {
    @StateObject var model: AttachmentsModel
    @State private var picking: UIImagePickerController.SourceType?
    @State private var choosingFile = false
    @State private var signing = false
    @State private var full: Data?

    var body: some View {
        List {
            Section {
                if UIImagePickerController.isSourceTypeAvailable(.camera) {
                    Button(t(.takePhoto)) { picking = .camera }.frame(minHeight: 48)
                }
                Button(t(.addPhoto)) { picking = .photoLibrary }.frame(minHeight: 48)
                Button(t(.chooseFile)) { choosingFile = true }.frame(minHeight: 48)
                Button(t(.drawSignature)) { signing = true }.frame(minHeight: 48)
            }
            if model.attachments.isEmpty { Text(t(.noAttachments)).foregroundColor(.secondary) }
            ForEach(model.attachments, id: \.reference.hash) { attachment in
                HStack(spacing: 12) {
                    Thumbnail(data: model.opened[attachment.reference.hash], kind: attachment.reference.kind)
                    VStack(alignment: .leading, spacing: 4) {
                        Text(attachment.reference.caption.isEmpty ? attachment.reference.mediaType : attachment.reference.caption)
                        Text(model.state(attachment)).font(.caption).foregroundColor(.secondary)
                    }
                    Spacer()
                    Button(t(.openFile)) {
                        Task { full = await model.open(attachment.reference.hash) }
                    }
                    .buttonStyle(.borderless)
                    .frame(minWidth: 48, minHeight: 48)
                }
                .swipeActions {
                    Button(t(.remove), role: .destructive) { Task { await model.remove(attachment.reference.hash) } }
                }
            }
            if let error = model.error { Text(error.text).foregroundColor(.red) }
        }
        .navigationTitle(t(.attachments))
        .task { await model.refresh() }
        .sheet(item: Binding(get: { picking.map(PickerSource.init) }, set: { picking = $0?.source })) { source in
            ImagePicker(source: source.source) { image in
                picking = nil
                // Downscaled so a photo stays well inside the core's size limit and uploads quickly.
                if let jpeg = image.downscaled(maxSide: 1600).jpegData(compressionQuality: 0.8) {
                    Task { await model.addPhoto(jpeg) }
                }
            }
        }
        .sheet(isPresented: $choosingFile) {
            DocumentPicker { url in
                choosingFile = false
                Task { await model.addFile(url) }
            }
        }
        .sheet(isPresented: $signing) {
            SignatureSheet { png in
                signing = false
                Task { await model.addSignature(png) }
            }
        }
        .sheet(isPresented: Binding(get: { full != nil }, set: { if !$0 { full = nil } })) {
            if let full, let image = UIImage(data: full) {
                Image(uiImage: image).resizable().scaledToFit().padding()
            }
        }
    }
}

private struct PickerSource: Identifiable {
    let source: UIImagePickerController.SourceType
    var id: Int { source.rawValue }
}

// MARK: Signature

/// A box to sign in with the finger; "save" renders the strokes to a PNG.
struct SignatureSheet: View {
    let onSave: (Data) -> Void
    @State private var strokes: [[CGPoint]] = []
    @State private var size: CGSize = .zero
    @State private var drawing = false

    var body: some View {
        VStack(spacing: 16) {
            Text(t(.drawSignature)).font(.headline)
            GeometryReader { geometry in
                SignatureStrokes(strokes: strokes)
                    .stroke(Color.black, style: StrokeStyle(lineWidth: 3, lineCap: .round, lineJoin: .round))
                    .background(Color.white)
                    .contentShape(Rectangle())
                    .gesture(DragGesture(minimumDistance: 0)
                        .onChanged { drag in
                            if !drawing {
                                strokes.append([])
                                drawing = true
                            }
                            strokes[strokes.count - 1].append(drag.location)
                        }
                        .onEnded { _ in drawing = false })
                    .onAppear { size = geometry.size }
            }
            .frame(height: 220)
            .overlay(RoundedRectangle(cornerRadius: 8).stroke(Color.secondary))
            HStack {
                Button(t(.clear)) { strokes = [] }.frame(minHeight: 48)
                Spacer()
                Button(t(.saveSignature)) {
                    if let png = SignatureStrokes.png(strokes, size: size) { onSave(png) }
                }
                .frame(minHeight: 48)
                .disabled(strokes.allSatisfy { $0.count < 2 })
            }
        }
        .padding()
    }
}

/// The drawn strokes as a shape, and as PNG bytes.
struct SignatureStrokes: Shape {
    let strokes: [[CGPoint]]

    func path(in rect: CGRect) -> Path {
        var path = Path()
        for stroke in strokes where !stroke.isEmpty {
            path.move(to: stroke[0])
            for point in stroke.dropFirst() { path.addLine(to: point) }
        }
        return path
    }

    static func png(_ strokes: [[CGPoint]], size: CGSize) -> Data? {
        guard size.width > 0, size.height > 0 else { return nil }
        let renderer = UIGraphicsImageRenderer(size: size)
        let image = renderer.image { context in
            UIColor.white.setFill()
            context.fill(CGRect(origin: .zero, size: size))
            let path = UIBezierPath()
            path.lineWidth = 3
            path.lineCapStyle = .round
            path.lineJoinStyle = .round
            for stroke in strokes where !stroke.isEmpty {
                path.move(to: stroke[0])
                for point in stroke.dropFirst() { path.addLine(to: point) }
            }
            UIColor.black.setStroke()
            path.stroke()
        }
        return image.pngData()
    }
}

// MARK: UIKit pickers

struct ImagePicker: UIViewControllerRepresentable {
    let source: UIImagePickerController.SourceType
    let onPick: (UIImage) -> Void

    func makeUIViewController(context: Context) -> UIImagePickerController {
        let picker = UIImagePickerController()
        picker.sourceType = source
        picker.delegate = context.coordinator
        return picker
    }

    func updateUIViewController(_ controller: UIImagePickerController, context: Context) {}

    func makeCoordinator() -> Coordinator { Coordinator(onPick: onPick) }

    final class Coordinator: NSObject, UIImagePickerControllerDelegate, UINavigationControllerDelegate {
        let onPick: (UIImage) -> Void

        init(onPick: @escaping (UIImage) -> Void) {
            self.onPick = onPick
        }

        func imagePickerController(_ picker: UIImagePickerController,
                                   didFinishPickingMediaWithInfo info: [UIImagePickerController.InfoKey: Any]) {
            if let image = info[.originalImage] as? UIImage { onPick(image) }
            picker.dismiss(animated: true)
        }
    }
}

struct DocumentPicker: UIViewControllerRepresentable {
    let onPick: (URL) -> Void

    func makeUIViewController(context: Context) -> UIDocumentPickerViewController {
        let picker = UIDocumentPickerViewController(forOpeningContentTypes: [.pdf, .jpeg, .png], asCopy: true)
        picker.delegate = context.coordinator
        return picker
    }

    func updateUIViewController(_ controller: UIDocumentPickerViewController, context: Context) {}

    func makeCoordinator() -> Coordinator { Coordinator(onPick: onPick) }

    final class Coordinator: NSObject, UIDocumentPickerDelegate {
        let onPick: (URL) -> Void

        init(onPick: @escaping (URL) -> Void) {
            self.onPick = onPick
        }

        func documentPicker(_ controller: UIDocumentPickerViewController, didPickDocumentsAt urls: [URL]) {
            if let url = urls.first { onPick(url) }
        }
    }
}

/// The system share sheet (mail, chat, Files), for the hand-over export.
struct ShareSheet: UIViewControllerRepresentable {
    let items: [Any]

    func makeUIViewController(context: Context) -> UIActivityViewController {
        UIActivityViewController(activityItems: items, applicationActivities: nil)
    }

    func updateUIViewController(_ controller: UIActivityViewController, context: Context) {}
}

extension UIImage {
    /// The image scaled so its longer side is at most `maxSide` points.
    func downscaled(maxSide: CGFloat) -> UIImage {
        let longest = max(size.width, size.height)
        guard longest > maxSide else { return self }
        let scale = maxSide / longest
        let target = CGSize(width: size.width * scale, height: size.height * scale)
        return UIGraphicsImageRenderer(size: target).image { _ in draw(in: CGRect(origin: .zero, size: target)) }
    }
}
