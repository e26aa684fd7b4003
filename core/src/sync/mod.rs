//! Sync between a device and the server: the wire protocol shared by both (`protocol`); the device's client
//! follows in `client`.

pub mod protocol;
